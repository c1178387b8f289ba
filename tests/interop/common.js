'use strict';
// Loads the interop service definition the C# tests compile too.
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const definition = protoLoader.loadSync(path.join(__dirname, 'proto', 'interop.proto'), {
  keepCase: false, longs: Number, enums: Number, defaults: true, oneofs: true,
});
const Interop = grpc.loadPackageDefinition(definition).hawser.test.Interop;

module.exports = { grpc, Interop };
