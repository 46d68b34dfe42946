"""Prepares Debian's librdkafka source tree (sid) for the local backport: one guard against a NULL
dereference, and a package version of its own so that install-deps.sh can tell the backport apart.

Usage: guard.py SOURCE_TREE VERSION
"""
import sys
import time

tree, version = sys.argv[1], sys.argv[2]

# rd_kafka_metadata_update_op() (KIP-951 leader updates from fetch/produce answers) looks a topic up
# by name when the answer has no topic id; an answer with neither (the development broker, after it
# came back empty, to a fetch by old topic ids) made it strcmp() a NULL name.
path = f"{tree}/src/rdkafka_metadata.c"
source = open(path).read()
unguarded = """                } else {
                        rkmce = rd_kafka_metadata_cache_find(
                            rk, md->topics[i].topic, 1);
                        topic = md->topics[i].topic;
                }
"""
guarded = """                } else if (md->topics[i].topic) {
                        rkmce = rd_kafka_metadata_cache_find(
                            rk, md->topics[i].topic, 1);
                        topic = md->topics[i].topic;
                } else {
                        /* Neither a topic id nor a name: nothing to update. */
                        continue;
                }
"""
if guarded not in source:
    if unguarded not in source:
        sys.exit(f"librdkafka guard: {path} changed upstream; review the guard")
    open(path, "w").write(source.replace(unguarded, guarded, 1))

changelog = f"{tree}/debian/changelog"
entries = open(changelog).read()
if not entries.startswith(f"librdkafka ({version})"):
    stamp = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
    entry = (f"librdkafka ({version}) unstable; urgency=medium\n\n"
             "  * Local backport for Debian 12: vendored nanopb and cJSON; guard against a metadata\n"
             "    update with neither topic id nor name.\n\n"
             f" -- swift-engage <dev@localhost>  {stamp}\n\n")
    open(changelog, "w").write(entry + entries)
