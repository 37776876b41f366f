// A Node.js program stuck in JavaScript: spinForever() never returns, so its event loop never
// runs again. It prints "node PID spinning" first. Run with --perf-basic-prof (and
// --interpreted-frames-native-stack) it writes /tmp/perf-PID.map, from which the runner names
// its JavaScript frames.
'use strict';
function spinForever() {
    let x = 0;
    for (;;) {
        x = (x + 1) % 1000;
    }
}
function handleRequest() {
    spinForever();
}
process.stdout.write(`node ${process.pid} spinning\n`);
setTimeout(handleRequest, 10);
