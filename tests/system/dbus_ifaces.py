#!/usr/bin/env python3
"""Print the org.gorral.* <interface> elements of introspection XML files
(one or several <node> documents, concatenated), normalized: one element
per line, attributes sorted, in file order. test_dbus.sh compares what a
running gorral answers with packaging/dbus/org.gorral.Supervisor1.xml."""
import re
import sys
import xml.etree.ElementTree as ET


def nodes(text):
    text = re.sub(r"<!DOCTYPE[^>]*>", "", text)
    text = re.sub(r"<\?xml[^>]*\?>", "", text)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    depth, start = 0, None
    for m in re.finditer(r"<(/?)node\b[^>]*?(/?)>", text):
        if m.group(1):
            depth -= 1
            if depth == 0:
                yield ET.fromstring(text[start:m.end()])
        elif not m.group(2):
            if depth == 0:
                start = m.start()
            depth += 1


def dump(e, depth, out):
    attrs = " ".join('%s="%s"' % (k, v) for k, v in sorted(e.attrib.items()))
    out.append("  " * depth + "<%s %s>" % (e.tag, attrs))
    for c in e:
        dump(c, depth + 1, out)


out = []
seen = set()
for path in sys.argv[1:]:
    with open(path) as f:
        for n in nodes(f.read()):
            for i in n.findall("interface"):
                name = i.get("name", "")
                if name.startswith("org.gorral.") and name not in seen:
                    seen.add(name)
                    dump(i, 0, out)
print("\n".join(out))
