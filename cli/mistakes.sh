#!/bin/bash
# Tries user mistakes on the built CLI (npm run build first) and prints, as the
# Markdown rows of README's "User mistakes" table: the command, its exit code,
# and the last line it printed on stderr. Needs no broker (127.0.0.1:1 is
# never reached: every case fails before connecting) and only the shipped model.
# usage: bash cli/mistakes.sh > /tmp/rows.md
set -u
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
echo '{bad' > bad.json
echo '[1,2]' > arr.json
printf 'not conll at all\n' > bad.conll
printf '北 B-GPE.NAM\n京 I-GPE.NAM\n\n' > ok.conll
mkdir -p adir
printf '{"id":"1","text":"x","created_at":1,"source":"weibo"}\n' > noauthor.ndjson
printf 'Obj\001garbage' > bad.avro
export MENTIONFLOW_BROKERS=
try() {
  local err code
  err="$(timeout 120 node "$root/dist/cli/main.js" "$@" 2>&1 >/dev/null)"
  code=$?
  local last
  last="$(printf '%s\n' "$err" | grep . | tail -1 | sed 's/|/\\|/g')"
  if [[ $# -eq 1 && $1 == topics ]]; then last='(its help, on stderr)'; fi
  if [[ $last == *'`'* ]]; then last="\`\` $last \`\`"; elif [[ $last != '('* ]]; then last="\`$last\`"; fi
  printf '| `%s` | %s | %s |\n' "$*" "$code" "$last"
}
try rn
try tagg x
try run --input-topc x
try eval --dat x
try tag --backend gpu x
try tag --batch-size many x
try tag --model /missing x
try tag --model ok.conll x
try eval --data /missing
try eval --data adir
try eval --data bad.conll
try eval --data ok.conll --model /missing
try eval --data ok.conll --model adir,adir
try train-ner --train /missing --dev ok.conll --out o
try train-ner --train ok.conll --dev ok.conll
try train-ner --train ok.conll --dev ok.conll --out o --config bad.json
try train-ner --train ok.conll --dev ok.conll --out o --config arr.json
try train-ner --train ok.conll --dev ok.conll --out o --config /missing.json
try train-ner --train ok.conll --dev ok.conll --out o --epochs 0
try train-ner --train ok.conll --dev ok.conll --out o --optimizer adamw
try train-ner --train bad.conll --dev ok.conll --out o
try train-ner --train ok.conll --dev ok.conll --out o --lexicon /missing.txt
try train-joint --ner-train ok.conll --ner-dev ok.conll --seg-train /missing --seg-dev ok.conll --out o
try train-joint --ner-train ok.conll --ner-dev ok.conll --seg-train ok.conll --seg-dev ok.conll --out o --mode both
try train-joint --ner-train ok.conll --ner-dev ok.conll --seg-train ok.conll --seg-dev ok.conll --out o --lambda 0
try segment --input /missing
try segment --input ok.conll x
try eval --task seg --data ok.conll --train-words /missing
try compare --candidate adir,adir --data ok.conll
try compare --candidate /missing --data ok.conll
try pretrain-embeddings --out e.bin --corpora /missing
try pretrain-embeddings --out e.bin --dim 0
try experiment table2
try experiment table1 --datasets v3
try experiment table1 --corpora /missing --rows 1 --seeds 1
try tune --dataset v3
try tune --lambdas 2
try tune --corpora /missing --seeds 1
try run --input /missing.ndjson
try run --input bad.avro
try run --config bad.json
try run --config /missing.json
try run --batch-max-count 0
try run --delivery exactly-twice
try run --brokers nohostport
try run --model /missing
try run --create-topics
try run --dead-letter-file /missing/dir/dl.ndjson --input noauthor.ndjson
try produce --topic t --input /missing --brokers 127.0.0.1:1
try produce --topic t --input noauthor.ndjson --brokers 127.0.0.1:1
try produce --topic t --input bad.json --brokers 127.0.0.1:1
try produce --topic t --input bad.avro --brokers 127.0.0.1:1
try produce --topic t --input noauthor.ndjson --brokers 127.0.0.1:1 --format xml
try produce --topic t --input noauthor.ndjson
try tail --topic t --brokers 127.0.0.1:1 --max 0
try tail --topic t --brokers 127.0.0.1:1 --wire xml
try archive --input /missing --format conll --output o.avro
try archive --input ok.conll --format xml --output o.avro
try archive --input bad.conll --format conll --output o.avro
try archive --input ok.conll --format conll --output /missing/dir/o.avro
try topics
try topics create
try topics creat --brokers 127.0.0.1:1
try topics describe --topic-partitions 0 --brokers 127.0.0.1:1
try topics describe --topic-replication-factor 0 --brokers 127.0.0.1:1
try completion tcsh
