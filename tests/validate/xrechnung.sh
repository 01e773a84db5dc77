#!/bin/sh
# xrechnung.sh DIR: run the official EN 16931 (UBL) and XRechnung rules on
# every *.xml in DIR with Saxon-HE and print, per document and in total,
# the fatal findings and the warnings.  The rules are not in this
# repository: $XRECHNUNG_RULES names a directory holding
#   en16931-ubl.xslt    (ConnectingEurope/eInvoicing-EN16931, ubl/xslt)
#   xrechnung-ubl.xsl   (itplr-kosit/xrechnung-schematron, compiled with
#                        SchXslt's pipeline-for-svrl.xsl)
# Without it the check says it skipped and exits 0.  Exit 1 on any fatal
# finding or a document the rules could not read.
set -u
dir=${1:?usage: xrechnung.sh DIR}
rules=${XRECHNUNG_RULES:-}
saxon=${SAXON_JAR:-/usr/share/java/Saxon-HE.jar}
if [ -z "$rules" ] || [ ! -f "$rules/en16931-ubl.xslt" ] ||
   [ ! -f "$rules/xrechnung-ubl.xsl" ]; then
	echo "validate-invoices: SKIPPED: set XRECHNUNG_RULES to a directory with" \
	     "en16931-ubl.xslt and xrechnung-ubl.xsl"
	exit 0
fi
if [ ! -f "$saxon" ]; then
	echo "validate-invoices: SKIPPED: no Saxon-HE at $saxon"
	exit 0
fi
docs=0 fatal=0 warn=0 bad=0 inv=0 cn=0
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for f in "$dir"/*.xml; do
	[ -e "$f" ] || continue
	docs=$((docs + 1))
	if grep -q '<ubl:CreditNote' "$f"; then cn=$((cn + 1)); else inv=$((inv + 1)); fi
	for r in en16931-ubl.xslt xrechnung-ubl.xsl; do
		if ! java -cp "$saxon" net.sf.saxon.Transform -s:"$f" \
		    -xsl:"$rules/$r" -o:"$out/svrl.xml" 2>"$out/err"; then
			echo "$f: $r: the rules could not run: $(head -c 300 "$out/err")"
			bad=$((bad + 1))
			continue
		fi
		# one failed-assert per line, then count by flag
		tr '\n' ' ' <"$out/svrl.xml" | sed 's/<svrl:failed-assert/\n&/g' |
		    grep '^<svrl:failed-assert' >"$out/fa" || true
		nf=$(grep -c 'flag="fatal"' "$out/fa" || true)
		nw=$(grep -c 'flag="warning"' "$out/fa" || true)
		fatal=$((fatal + nf))
		warn=$((warn + nw))
		if [ "$nf" -gt 0 ] || [ "$nw" -gt 0 ]; then
			echo "$(basename "$f"): $r: $nf fatal, $nw warning(s)"
			while read -r fa; do
				id=$(echo "$fa" | grep -o ' id="[^"]*"' | head -1)
				fl=$(echo "$fa" | grep -o 'flag="[^"]*"' | head -1)
				tx=$(echo "$fa" | sed -n 's/.*<svrl:text>\([^<]*\)<.*/\1/p' | tr -s ' ')
				echo "  $fl$id: $tx"
			done <"$out/fa" | head -20
		fi
	done
done
echo "validate-invoices: $docs document(s) ($inv invoice(s), $cn credit note(s))," \
     "$fatal fatal, $warn warning(s), $bad not run"
[ "$docs" -gt 0 ] && [ "$fatal" = 0 ] && [ "$bad" = 0 ]
