"""Keeping the gettext catalogs right: `python -m bot.i18n.catalogs` after `pybabel update`.

Babel 2.18 writes a wrong Arabic plural rule on ``pybabel init -l ar``; the catalog header
must carry the CLDR rule below (a test pins it).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from bot.i18n.translations import LOCALES_DIR

ARABIC_PLURAL_FORMS = (
    "nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : "
    "n%100>=3 && n%100<=10 ? 3 : n%100>=11 ? 4 : 5);"
)


def fix_arabic_plural_header(po_path: Path) -> bool:
    """Rewrite the Plural-Forms header; True when the file changed."""
    text = po_path.read_text(encoding="utf-8")
    # Babel wraps long header lines; unwrap the Plural-Forms entry before replacing it.
    fixed = re.sub(r'"Plural-Forms: [^\\]*(?:"\n"[^\\]*)*\\n"\n',
                   f'"Plural-Forms: {ARABIC_PLURAL_FORMS}\\\\n"\n', text, count=1)
    if fixed != text:
        po_path.write_text(fixed, encoding="utf-8")
        return True
    return False


def main() -> int:
    changed = fix_arabic_plural_header(LOCALES_DIR / "ar" / "LC_MESSAGES" / "messages.po")
    print("Arabic plural header fixed" if changed else "Arabic plural header already right")
    return 0


if __name__ == "__main__":
    sys.exit(main())
