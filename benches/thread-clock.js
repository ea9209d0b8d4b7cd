// The calling thread's own clock, for the benchmarks: how long it has been on a CPU and how long
// it waited for one, from Linux's per-thread scheduler statistics. Unlike process.cpuUsage it
// counts this thread alone (not V8's compiler threads nor libuv's pool), which is what a call
// takes from FXServer's main thread.
'use strict';

const fs = require('fs');

/**
 * This thread's time on a CPU and waiting for one so far, in µs (zeros elsewhere than Linux):
 * a long block's wall time less these two is time it slept.
 */
function threadClock() {
  try {
    const [onCpu, queued] = fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ');
    return { onCpu: Number(onCpu) / 1000, queued: Number(queued) / 1000 };
  } catch (e) {
    return { onCpu: 0, queued: 0 };
  }
}

module.exports = { threadClock };
