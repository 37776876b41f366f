// A Node.js server that never closes: what keeps its event loop alive is a listening socket
// on 127.0.0.1 (an ephemeral port), a client socket connected to it and held open by both
// sides, a child process (sleep 300) and a repeating timer (30 s: it does not fire while a
// test looks at the process, so the main thread is always found waiting). When all exist it
// prints "node PID listening 127.0.0.1:PORT child CHILDPID" on stdout and, when given a path,
// writes the same line to that file (through a rename, so a reader never sees half of it).
// It never exits on its own.
'use strict';
const fs = require('fs');
const net = require('net');
const { spawn } = require('child_process');

const ready = process.argv[2];
const accepted = [];
const server = net.createServer((sock) => {
    accepted.push(sock); // kept: the server side of the connection stays open
});
server.listen(0, '127.0.0.1', () => {
    const port = server.address().port;
    const client = net.connect(port, '127.0.0.1', () => {
        const child = spawn('sleep', ['300'], { stdio: 'ignore' });
        setInterval(() => {}, 30000);
        const line = `node ${process.pid} listening 127.0.0.1:${port} child ${child.pid}\n`;
        process.stdout.write(line);
        if (ready) {
            fs.writeFileSync(`${ready}.tmp`, line);
            fs.renameSync(`${ready}.tmp`, ready);
        }
    });
    client.on('error', () => {});
});
