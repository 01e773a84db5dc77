#!/usr/bin/python3
"""Writes the large regression inputs of issue 10 into tests/fuzz/corpus/.

Each is a mail that crashed or stalled coopgate's email normalize path
(fuzz_mail: parse, trim, DSN, compose).  They are generated rather than
written by hand; the files are committed too (each is under 1.5 MB), so
`make check` does not need this script.  Run it again after changing a
size here:  tests/fuzz/make_corpus.py [CORPUS_DIR]
"""

import sys
from pathlib import Path

HEAD = ("From: Mallory <mallory@example.net>\n"
        "To: dev@lists.example.org\n"
        "Subject: {subject}\n"
        "Message-ID: <{mid}@example.net>\n"
        "Date: Mon, 1 Jan 2024 10:00:00 +0000\n")


def head(subject, mid):
    return HEAD.format(subject=subject, mid=mid)


def short_id(i):
    """A short distinct token: base 36 of i."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    s = ""
    while True:
        i, r = divmod(i, 36)
        s = digits[r] + s
        if i == 0:
            return s


def nested_rfc822(levels=30_000):
    """Finding 2: libetpan's parser recurses once per level (stack)."""
    return (head("nested", "rfc822") + "MIME-Version: 1.0\n"
            + "Content-Type: message/rfc822\n\n" * levels + "x\n")


def nested_multipart(levels=20_000):
    """Finding 6: 20,000 nested multiparts (27 s in libetpan)."""
    out = [head("multipart", "multipart"), "MIME-Version: 1.0\n"]
    for i in range(levels):
        b = short_id(i)
        out.append(f"Content-Type: multipart/mixed; boundary={b}\n\n--{b}\n")
    out.append("\nx\n")
    return "".join(out)


def many_references(n=100_000):
    """Finding 6: cg_msg_add_ref deduplicated with a linear scan."""
    ids = " ".join(f"<{short_id(i)}@x>" for i in range(n))
    return (head("refs", "refs") + f"References: {ids}\n"
            + "Content-Type: text/plain\n\nx\n")


def many_cc(n=100_000):
    """Finding 6: cg_msg_add_rcpt deduplicated with a linear scan."""
    addrs = ",".join(f"{short_id(i)}@x" for i in range(n))
    return (head("cc", "cc") + f"Cc: {addrs}\n"
            + "Content-Type: text/plain\n\nx\n")


def signature_lines(n=20_000, blank=200_000):
    """Finding 6: the trimmer's quote_follows rescans, for every line, all
    the dropped (here: mobile-client signatures) and blank lines below it:
    n * (n + blank) steps.  The issue's 80,000 signature lines take ~2 s;
    blank lines are cheaper bytes for the same scan."""
    return (head("sig", "sig") + "Content-Type: text/plain\n\nhello\n"
            + "Sent from my x\n" * n + "\n" * blank + "> quoted\n")


def html_link_text(n=400_000):
    """Finding 6: HTML to text looks for the link's address in its text
    with a naive search (find_ci in link_end): n * n steps for a link text
    of 2n letters and an address of n of them and one other.  glibc's
    vector strncasecmp makes a step cheap, hence the large n."""
    html = (f'<html><body><a href="mailto:{"a" * n}b">{"a" * (2 * n)}</a>'
            "</body></html>")
    return (head("html", "html") + "MIME-Version: 1.0\n"
            + "Content-Type: text/html; charset=us-ascii\n\n" + html + "\n")


FILES = {
    "mail/finding-02-nested-rfc822.eml": nested_rfc822,
    "mail/finding-06-nested-multipart.eml": nested_multipart,
    "mail/finding-06-references.eml": many_references,
    "mail/finding-06-cc.eml": many_cc,
    "mail/finding-06-signature-lines.eml": signature_lines,
    "mail/finding-06-html-link-text.eml": html_link_text,
}


def main():
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "corpus"
    for name, make in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = make().encode()
        path.write_bytes(data)
        print(f"{path}: {len(data):,} bytes")


if __name__ == "__main__":
    main()
