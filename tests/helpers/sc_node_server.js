// A Node.js server that never closes: what keeps its event loop alive is a listening socket
// on 127.0.0.1 (an ephemeral port), a client socket connected to it and held open by both
// sides, a child process (sleep 300) and a repeating timer. It prints one line,
// "node PID listening 127.0.0.1:PORT child CHILDPID", when all of them exist (the runner's
// tests wait for it), and never exits on its own.
'use strict';
const net = require('net');
const { spawn } = require('child_process');

const accepted = [];
const server = net.createServer((sock) => {
    accepted.push(sock); // kept: the server side of the connection stays open
});
server.listen(0, '127.0.0.1', () => {
    const port = server.address().port;
    const client = net.connect(port, '127.0.0.1', () => {
        const child = spawn('sleep', ['300'], { stdio: 'ignore' });
        setInterval(() => {}, 1000);
        process.stdout.write(`node ${process.pid} listening 127.0.0.1:${port} child ${child.pid}\n`);
    });
    client.on('error', () => {});
});
