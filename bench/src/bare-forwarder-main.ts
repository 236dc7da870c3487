// Process entry of the bare forwarder, configured like the relay: HOST, PORT,
// and BARE_PARSE_FRAMES=1 to add one JSON.parse per frame.
import { createBareForwarder } from './bare-forwarder.js';

const server = createBareForwarder({ parseEveryFrame: process.env.BARE_PARSE_FRAMES === '1' });
server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
