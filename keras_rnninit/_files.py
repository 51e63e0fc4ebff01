"""Files written whole or not at all."""

import contextlib
import os


@contextlib.contextmanager
def written_whole(path, tag=None):
    """Yields a temporary path beside `path`; once the block has written it,
    it replaces `path` in one step. A kill, a full disk or an exception
    leaves the previous `path` (and no temporary file).

    Args:
        path: the file to write.
        tag: what makes the temporary name unique among writers (default:
            this process's id).
    """
    root, extension = os.path.splitext(path)
    # The extension stays last: Keras picks the format of `model.save` by it.
    temporary = f"{root}.{tag or os.getpid()}.tmp{extension}"
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(OSError):
            os.remove(temporary)
