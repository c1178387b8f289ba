'use strict';
// grpc-js server for the interop service: the peer for Hawser's client.
// Usage: node server.js   prints "LISTENING <port>" once bound to 127.0.0.1.
const { grpc, Interop } = require('./common');

function metadataMap(md) {
  const out = {};
  for (const [key, value] of Object.entries(md.getMap())) {
    out[key] = Buffer.isBuffer(value) ? value.toString('base64') : String(value);
  }
  return out;
}

function echoMetadata(call) {
  const headers = new grpc.Metadata();
  const trailers = new grpc.Metadata();
  for (const [key, value] of Object.entries(call.metadata.getMap())) {
    if (key.startsWith('x-')) {
      headers.set(key, value);
      // Binary keys must keep their -bin suffix.
      trailers.set(key.endsWith('-bin') ? key.slice(0, -4) + '-trailer-bin' : key + '-trailer', value);
    }
  }
  return { headers, trailers };
}

const impl = {
  echo(call, callback) {
    const req = call.request;
    const { headers, trailers } = echoMetadata(call);
    call.sendMetadata(headers);
    const finish = () => {
      if (req.failCode) {
        callback({ code: req.failCode, details: req.failMessage, metadata: trailers });
        return;
      }
      callback(null, {
        message: req.message,
        metadata: metadataMap(call.metadata),
        payload: req.payload,
        padding: Buffer.alloc(req.replyPadding, 0x61),
        peerCompression: String(call.metadata.get('grpc-encoding')[0] || ''),
      }, trailers);
    };
    if (req.delayMs) {
      const timer = setTimeout(finish, req.delayMs);
      call.on('cancelled', () => clearTimeout(timer));
    } else {
      finish();
    }
  },
  sum(call, callback) {
    let sum = 0; let count = 0;
    call.on('data', (n) => { sum += Number(n.value); count += 1; });
    call.on('end', () => callback(null, { sum, count }));
    call.on('error', () => {});
  },
  countdown(call) {
    const { from, delayMs, failAfter } = call.request;
    let value = from; let sent = 0;
    const step = () => {
      // Without a delay, write as fast as flow control allows (wait for 'drain' when told to).
      while (!call.cancelled) {
        if (failAfter > 0 && sent === failAfter) {
          call.emit('error', { code: grpc.status.ABORTED, details: 'countdown aborted as asked' });
          return;
        }
        if (value <= 0) { call.end(); return; }
        const more = call.write({ value });
        value -= 1; sent += 1;
        if (delayMs > 0) { setTimeout(step, delayMs); return; }
        if (!more) { call.once('drain', step); return; }
      }
    };
    step();
  },
  chat(call) {
    call.on('data', (m) => call.write({ text: 'echo: ' + m.text, seq: m.seq }));
    call.on('end', () => call.end());
    call.on('error', () => {});
  },
};

// grpc-js servers never compress responses; tests/interop/server.py (grpcio) covers that.
const server = new grpc.Server();
server.addService(Interop.service, impl);
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) { console.error(err.message); process.exit(1); }
  console.log('LISTENING ' + port);
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
