// The file edges as building blocks: posts from a file (NDJSON, one Post per
// line, or an Avro object container), mention records as NDJSON on stdout,
// dead letters (lines that are not valid posts) as NDJSON on stderr: what
// `mentionflow run --input FILE` does without Kafka.
// Run: node files.js POSTS_FILE
import { lastValueFrom } from 'rxjs';
import { FileSink, FileSource, loadTagger, mentionStream } from 'mentionflow';

const path = process.argv[2];
if (path === undefined) {
  console.error('usage: node files.js POSTS_FILE');
  process.exit(2);
}

const tagger = await loadTagger();
await lastValueFrom(
  mentionStream({
    source: new FileSource({ path, maxInFlight: 1000 }),
    sink: new FileSink({ mentions: process.stdout, deadLetters: process.stderr }),
    tagger,
  }),
  { defaultValue: [] },
);
tagger.dispose();
