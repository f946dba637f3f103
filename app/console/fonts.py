"""The console's Chinese font: browsers cannot use the TrueType collection the PDFs are set in, so its
regular face is written out once as a plain TrueType file under the instance folder and served from there."""
from __future__ import annotations

import os
import threading
from pathlib import Path

from gis.render import CJK_FONT_FACES, cjk_font_file

_lock = threading.Lock()


def web_font(instance: Path) -> Path:
    """The regular face of WenQuanYi Micro Hei (Apache-2.0) as a ``.ttf``, made on first use."""
    out = Path(instance) / "console" / "wqy-microhei.ttf"
    if out.exists():
        return out
    from fontTools.ttLib import TTCollection

    with _lock:
        if not out.exists():
            out.parent.mkdir(parents=True, exist_ok=True)
            partial = out.with_suffix(f".{os.getpid()}.part")
            TTCollection(str(cjk_font_file())).fonts[CJK_FONT_FACES["regular"]].save(str(partial))
            partial.replace(out)  # whole or not at all, for the next reader
    return out
