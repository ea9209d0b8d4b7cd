#!/usr/bin/env bash
# A private MariaDB server for the tests: its own data folder, port and socket, never the
# machine's own server. Installs MariaDB from Debian's packages when it is missing.
#
#   bash scripts/mariadb.sh start <dir> <port>   # initialise <dir> if new, start, wait until up;
#                                                # prints the connection string for user darkchat
#   bash scripts/mariadb.sh stop <dir>           # stops the server started in <dir>, by its pid
#
# The server listens on 127.0.0.1 only. User `darkchat` (password `darkchat`) may create and
# drop databases whose names start with `darkchat`; the database `darkchat` exists.
set -euo pipefail

command_name=${1:-}
dir=${2:-}
[ -n "$command_name" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop <dir> [port]" >&2; exit 2; }

case "$command_name" in
  start)
    port=${3:?port}
    if ! command -v mariadbd >/dev/null || ! command -v mariadb-install-db >/dev/null; then
      if [ "$(id -u)" -ne 0 ]; then echo "mariadb: not installed; run as root or install mariadb-server" >&2; exit 1; fi
      apt-get -o DPkg::Lock::Timeout=600 update -qq
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq mariadb-server mariadb-client >/dev/null
    fi
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ ! -d "$dir/data/mysql" ]; then
      mariadb-install-db --no-defaults --datadir="$dir/data" --user="$(id -un)" \
        --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 \
        || { cat "$dir/install.log" >&2; exit 1; }
    fi
    mariadbd --no-defaults --datadir="$dir/data" --port="$port" --bind-address=127.0.0.1 \
      --socket="$dir/mysqld.sock" --pid-file="$dir/mysqld.pid" --user="$(id -un)" \
      --skip-name-resolve --innodb-buffer-pool-size=128M --innodb-log-file-size=64M \
      --max-connections=500 --log-error="$dir/error.log" >/dev/null 2>&1 &
    echo $! >"$dir/pid"
    for _ in $(seq 1 300); do
      if mariadb-admin --no-defaults --socket="$dir/mysqld.sock" -uroot ping >/dev/null 2>&1; then
        mariadb --no-defaults --socket="$dir/mysqld.sock" -uroot -e "
          CREATE USER IF NOT EXISTS 'darkchat'@'%' IDENTIFIED BY 'darkchat';
          GRANT ALL PRIVILEGES ON \`darkchat%\`.* TO 'darkchat'@'%';
          CREATE DATABASE IF NOT EXISTS darkchat;"
        echo "mysql://darkchat:darkchat@127.0.0.1:$port/darkchat"
        exit 0
      fi
      if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
        echo "mariadb: the server exited; its log:" >&2
        tail -n 20 "$dir/error.log" >&2
        exit 1
      fi
      sleep 0.1
    done
    echo "mariadb: not up after 30 s" >&2
    exit 1
    ;;
  stop)
    [ -f "$dir/pid" ] || exit 0
    pid=$(cat "$dir/pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/pid"
    ;;
  *) echo "usage: $0 start|stop <dir> [port]" >&2; exit 2 ;;
esac
