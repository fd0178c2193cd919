#!/usr/bin/env python3
"""mansync.py: are the manual pages in step with the program?

  mansync.py options GORRAL PAGE.1
      Each command of `GORRAL --help` against the .SS "gorral CMD" sections
      of PAGE.1: the option names `GORRAL CMD --help` prints against those
      on the page. Every option of --help must appear in the command's
      section (a tag or its prose) or in a shared section the command names
      on a `.\\" options: common policy control` line; every option a tag
      line of those sections defines must be in --help.
  mansync.py keys PAGE.5 CONFIG.C DETECT.C EXAMPLE.YAML
      The keys config.c and detect.c accept (their key tables, and the keys
      they compare by name) against the keys gorral.yaml(5) defines on its
      tag lines (see page_keys), both ways; and every key the example file uses must be on
      the page.

  mansync.py dbus PAGE.7 INTROSPECTION.XML
      Every method, signal and property of the XML's interfaces is defined
      on a tag line of gorral-dbus(7), and every member a tag line of its
      object sections defines is in the XML.

One line per check, as tests/integration/lib.sh prints them: PASS: NAME,
FAIL: NAME: why. Exit 0 when nothing failed.
"""
import re
import subprocess
import sys

failed = False


def report(name, problems):
    global failed
    if problems:
        failed = True
        print(f"FAIL: {name}: {'; '.join(problems)}")
    else:
        print(f"PASS: {name}")


def roff_text(line):
    """The text of one roff line: macro name and escapes gone."""
    line = re.sub(r'^\.(B|I|BR|RB|IR|RI|BI|IB|SM|SB)\s+', '', line)
    line = line.replace('\\-', '-').replace('\\(aq', "'").replace('\\(dq', '"')
    line = re.sub(r'\\f[BIRP]|\\f\(..|\\&|\\c|\\e', '', line)
    # .BR a b: alternating fonts, quoted arguments joined
    return line.replace('"', ' ')


OPT = re.compile(r'(?<![\w-])(--[A-Za-z][\w-]*|-[A-Za-z](?![\w-]))')


def page_sections(path):
    """{section title: (tag options, every option, shared names)} for each
    .SS and .SH of the page."""
    secs, cur, after_tp = {}, None, False
    for raw in open(path, encoding='utf-8'):
        raw = raw.rstrip('\n')
        m = re.match(r'^\.(SS|SH)\s+"?(.*?)"?\s*$', raw)
        if m:
            cur = roff_text(m.group(2)).strip()
            secs[cur] = (set(), set(), set())
            after_tp = False
            continue
        if cur is None:
            continue
        m = re.match(r'^\.\\"\s*options:\s*(.*)$', raw)
        if m:
            secs[cur][2].update(m.group(1).split())
            continue
        if raw.startswith('.\\"'):
            continue
        if raw.startswith('.TP') or raw.startswith('.TQ'):
            after_tp = True
            continue
        text = roff_text(raw)
        opts = set(OPT.findall(text))
        if after_tp:
            secs[cur][0].update(opts)
            after_tp = False
        secs[cur][1].update(opts)
    return secs


SHARED = {'common': 'COMMON OPTIONS', 'policy': 'POLICY OPTIONS', 'control': 'CONTROL OPTIONS'}


def check_options(gorral, page):
    secs = page_sections(page)
    top = subprocess.run([gorral, '--help'], capture_output=True, text=True).stdout
    cmds = re.findall(r'^  ([a-z][a-z-]*)\s', top.split('Commands:', 1)[1], re.M)
    documented = {t.split()[1] for t in secs if t.startswith('gorral ') and len(t.split()) > 1}
    report('man_commands', [f"`gorral --help` has {c}, gorral(1) no .SS" for c in cmds if c not in documented] +
           [f"gorral(1) documents {c}, `gorral --help` has no such command" for c in sorted(documented)
            if c not in cmds])
    for c in cmds:
        title = next((t for t in secs if t.split()[:2] == ['gorral', c]), None)
        if title is None:
            continue
        help_text = subprocess.run([gorral, c, '--help'], capture_output=True, text=True).stdout
        in_help = set(OPT.findall(help_text))
        tags, prose, shared = (set(x) for x in secs[title])
        for s in shared:
            if SHARED.get(s) not in secs:
                report(f"man_options_{c}", [f"shared section {s!r} is not in the page"])
                break
            tags |= secs[SHARED[s]][0]
            prose |= secs[SHARED[s]][1]
        problems = [f"{o} is in --help, not in gorral(1)" for o in sorted(in_help - prose)]
        problems += [f"{o} is in gorral(1), not in --help" for o in sorted(tags - in_help)]
        if not in_help:
            problems.append("--help printed no option at all")
        report(f"man_options_{c}", problems)


def code_keys(config_c, detect_c):
    keys = set()
    src = open(config_c, encoding='utf-8').read()
    for m in re.finditer(r'static const struct key \w+\[\] = \{(.*?)\};', src, re.S):
        keys.update(re.findall(r'\{\s*"(\w+)"', m.group(1)))
    for m in re.finditer(r'static const char \*const (\w+)\[\] = \{(.*?)\};', src, re.S):
        if m.group(1) == 'top' or m.group(1).endswith('names'):
            keys.update(re.findall(r'"(\w+)"', m.group(2)))
    # keys compared by name where a mapping is walked (k, kk: a key node)
    keys.update(re.findall(r'strcmp\((?:k|kk|v->kids\[\w\]|root->kids\[\w\])->s, "(\w+)"\)', src))
    det = open(detect_c, encoding='utf-8').read()
    for m in re.finditer(r'static const char \*const keys_(\w+)\[\] = \{(.*?)\};', det, re.S):
        keys.add(m.group(1))  # the detector's own name is a key of detect:
        keys.update(re.findall(r'"(\w+)"', m.group(2)))
    return keys


# Mapping keys whose children are names the user chooses, not keys.
USER_NAMED = {'services', 'alerts', 'env', 'depends_on', 'remap_exit', 'rewrite'}


def example_keys(path):
    """The keys of the example file, without the names the user chooses
    (services, alert destinations, env variables...), x- keys and <<."""
    keys, stack = set(), []  # stack: (indent, key)
    for raw in open(path, encoding='utf-8'):
        line = re.sub(r'"[^"]*"|\'[^\']*\'', '""', raw.rstrip('\n'))
        line = re.sub(r'(^|\s)#.*$', '', line)
        if not line.strip():
            continue
        m = re.match(r'^(\s*)(?:-\s+)?([A-Za-z0-9_<-][\w<-]*)\s*:(\s|$)(.*)$', line)
        if not m:
            rest = line  # a list item that is a flow mapping: - {metric: ...}
        else:
            indent, key, rest = len(m.group(1)), m.group(2), m.group(4)
            while stack and stack[-1][0] >= indent:
                stack.pop()
            parent = stack[-1][1] if stack else None
            stack.append((indent, key))
            if key.startswith('x-') or key == '<<':
                continue
            if parent not in USER_NAMED:
                keys.add(key)
            if key in USER_NAMED:
                continue  # {143: 0}, {WINCH: 0}: names, not keys
        for flow in re.findall(r'\{([^{}]*)\}', rest):
            keys.update(re.findall(r'(?:^|,)\s*([A-Za-z_]\w*)\s*:', flow))
    return keys


def page_keys(path):
    """The keys a tag line defines: a bold word followed by ':', ',' or '}'
    (key: type, key1, key2, {key1, key2}), or a tag that is one bold word;
    bold values (\fBlogfmt\fR|\fBjson\fR) are followed by neither."""
    keys, after_tp = set(), False
    for raw in open(path, encoding='utf-8'):
        if raw.startswith('.TP') or raw.startswith('.TQ'):
            after_tp = True
            continue
        if after_tp and not raw.startswith('.\\"'):
            bold = list(re.finditer(r'\\fB(.*?)\\f[RIP]', raw))
            for i, m in enumerate(bold):
                word, after = m.group(1).replace('\\-', '-'), raw[m.end():]
                if not re.fullmatch(r'[a-z_][a-z0-9_]*', word):
                    continue
                if after[:1] in (':', ',', '}') or (i == 0 and not after.strip()):
                    keys.add(word)
            after_tp = False
    return keys


def check_keys(page, config_c, detect_c, example):
    code, on_page, ex = code_keys(config_c, detect_c), page_keys(page), example_keys(example)
    report('man_keys_code', [f"{k} is accepted by config.c/detect.c, not in gorral.yaml(5)"
                             for k in sorted(code - on_page)] + ([] if code else ["no key found in the code"]))
    report('man_keys_page', [f"{k} is in gorral.yaml(5), not accepted by config.c/detect.c"
                             for k in sorted(on_page - code)])
    report('man_keys_example', [f"{k} is in {example}, not in gorral.yaml(5)" for k in sorted(ex - on_page)] +
           ([] if ex else ["no key found in the example"]))


def check_dbus(page, xml_path):
    import xml.etree.ElementTree as ET
    members = set()
    for iface in ET.parse(xml_path).getroot().iter('interface'):
        if iface.get('name', '').startswith('org.freedesktop.'):
            continue
        for m in iface:
            if m.tag in ('method', 'signal', 'property'):
                members.add(m.get('name'))
    tags, cur, after_tp = set(), None, False
    for raw in open(page, encoding='utf-8'):
        m = re.match(r'^\.SH\s+"?(.*?)"?\s*$', raw)
        if m:
            cur = m.group(1)
            continue
        if raw.startswith('.TP') or raw.startswith('.TQ'):
            after_tp = True
            continue
        if after_tp and cur and cur.startswith('THE ') and not raw.startswith('.\\"'):
            # .BR Name " s", .BR Start "(), " Stop "(), " Restart ()
            words = re.findall(r'(?:^\.BR?\s+|"\s+)([A-Z][A-Za-z]+)', raw)
            tags.update(words)
        after_tp = False
    report('man_dbus_members', [f"{n} is in {xml_path}, not in gorral-dbus(7)" for n in sorted(members - tags)] +
           [f"{n} is in gorral-dbus(7), not in {xml_path}" for n in sorted(tags - members)] +
           ([] if members else ["no member found in the XML"]))


if __name__ == '__main__':
    if len(sys.argv) == 4 and sys.argv[1] == 'options':
        check_options(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 6 and sys.argv[1] == 'keys':
        check_keys(*sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == 'dbus':
        check_dbus(*sys.argv[2:])
    else:
        sys.exit(__doc__)
    sys.exit(1 if failed else 0)
