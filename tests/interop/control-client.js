'use strict';
// An independent client of the controller: grpc-js calls hawser.v1.ControlService.ListNodes over
// mTLS with the admin credential and prints the nodes as JSON (name, connected, labels, revisions).
// usage: node control-client.js HOST:PORT CA_PEM ADMIN_CERT_PEM ADMIN_KEY_PEM
const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const [address, ca, cert, key] = process.argv.slice(2);
const definition = protoLoader.loadSync('hawser/v1/control.proto', {
  includeDirs: [path.join(__dirname, '..', '..', 'proto')],
  keepCase: false, longs: String, enums: String, defaults: true, oneofs: true,
});
const { ControlService } = grpc.loadPackageDefinition(definition).hawser.v1;
const credentials = grpc.credentials.createSsl(fs.readFileSync(ca), fs.readFileSync(key), fs.readFileSync(cert));
const client = new ControlService(address, credentials);
client.ListNodes({}, { deadline: Date.now() + 15000 }, (error, response) => {
  if (error) {
    console.error(`${error.code} ${error.details}`);
    process.exit(1);
  }
  const nodes = response.nodes.map((n) => ({
    name: n.name, connected: n.connected, labels: n.labels,
    desiredRevision: Number(n.desiredRevision), appliedRevision: Number(n.appliedRevision),
  }));
  console.log(JSON.stringify({ nodes }));
  client.close();
});
