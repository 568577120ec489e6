'use strict';
// Runs the npm package perspective-api-client against our server. Its URL is fixed to
// Google's host, so a request interceptor on its own axios sends each call to BASE instead.
// Prints one JSON line per exchange (request and response as the client saw them).
const axios = require('axios');
const Perspective = require('perspective-api-client');

const BASE = process.env.BASE;
const KEY = process.env.KEY;
const TEXT = process.env.TEXT;

axios.interceptors.request.use(config => {
  const url = new URL(config.url);
  config.url = BASE + url.pathname + url.search;
  return config;
});

function record(kind, config, status, data) {
  process.stdout.write(JSON.stringify({
    kind,
    request: {method: config.method, url: config.url, params: config.params, body: JSON.parse(config.data)},
    response: {status, body: data},
  }) + '\n');
}

async function main() {
  const client = new Perspective({apiKey: KEY});
  axios.interceptors.response.use(
    response => { record('ok', response.config, response.status, response.data); return response; },
    error => {
      record('error', error.config, error.response.status, error.response.data);
      return Promise.reject(error);
    }
  );
  const result = await client.analyze(TEXT, {attributes: ['toxicity', 'insult', 'profanity']});
  process.stdout.write(JSON.stringify({kind: 'result', value: result}) + '\n');
  const html = await client.analyze({comment: {text: '<p>You <b>idiot</b></p>'}, spanAnnotations: true});
  process.stdout.write(JSON.stringify({kind: 'result', value: html}) + '\n');
  try {
    await new Perspective({apiKey: 'cm_wrong'}).analyze(TEXT);
  } catch (error) {
    process.stdout.write(JSON.stringify({
      kind: 'raised', name: error.name, message: error.message, status: error.response.status,
    }) + '\n');
  }
}

main().catch(error => { console.error(error); process.exit(1); });
