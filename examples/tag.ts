// Tag texts with the shipped model: load it, tag, print one JSON line per text.
// Run: node tag.js [TEXT ...]
import { loadTagger } from 'mentionflow';

const texts = process.argv.length > 2 ? process.argv.slice(2) : ['我在北京见到了张三', '今天上海下雨了'];

const tagger = await loadTagger();
const results = await tagger.tag(texts);
texts.forEach((text, i) => console.log(JSON.stringify({ text, mentions: results[i] })));
tagger.dispose();
