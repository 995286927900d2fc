// tests/e2e/sns_validator/validate.js - checks SNS messages with the npm
// package sns-validator (AWS's own validator for inbound SNS HTTP messages),
// as a subscriber that verifies signatures would. The only configuration is
// the certificate host it trusts (argv[2], a RegExp source; AWS's default is
// sns.<region>.amazonaws.com). stdin: one JSON message per line; stdout: one
// line per message, "ok" or "error: <reason>".
'use strict';
const readline = require('readline');
const MessageValidator = require('sns-validator');

const validator = new MessageValidator(new RegExp(process.argv[2] || '^127\\.0\\.0\\.1:[0-9]+$'));
const lines = [];
readline.createInterface({ input: process.stdin }).on('line', (l) => { if (l.trim()) lines.push(l); }).on('close', async () => {
  for (const l of lines) {
    const verdict = await new Promise((resolve) => {
      validator.validate(l, (err) => resolve(err ? 'error: ' + err.message : 'ok'));
    });
    process.stdout.write(verdict + '\n');
  }
});
