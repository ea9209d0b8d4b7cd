-- (ESX ships an imports.lua that other resources include with '@es_extended/imports.lua'; this
-- fake one defines nothing, it only shows that shared scripts run before server scripts.)
ESX_LOADED_SHARED = true
