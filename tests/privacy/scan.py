"""Looking for a value everywhere a home keeps things: file bytes, every text cell of DuckDB files (strings may be
compressed in the file, so bytes alone could miss one), Parquet, and e-mails with their zip attachments."""

import email
import io
import zipfile
from email import policy
from pathlib import Path

import duckdb


def files_containing(root: Path, needles: list[bytes]) -> list[str]:
    """Files under root (links not followed) whose bytes hold any needle."""
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not p.is_symlink() and any(n in p.read_bytes() for n in needles)
    )


def _text_cells(conn: duckdb.DuckDBPyConnection, source: str, needle: str) -> int:
    columns = [r[0] for r in conn.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()
               if r[1] == "VARCHAR" or r[1].startswith(("VARCHAR[", "STRUCT", "MAP", "JSON"))]  # fmt: skip
    if not columns:
        return 0
    test = " OR ".join(f'CAST("{c}" AS VARCHAR) ILIKE ?' for c in columns)
    return conn.sql(f"SELECT count(*) FROM {source} WHERE {test}", params=[f"%{needle}%"] * len(columns)).fetchall()[0][
        0
    ]


def duckdb_containing(path: Path, needle: str) -> list[str]:
    """Tables of a DuckDB file with a text cell holding `needle` (ignoring case)."""
    with duckdb.connect(str(path), read_only=True) as conn:
        tables = conn.sql(
            "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()
        return sorted(t for (t,) in tables if _text_cells(conn, t, needle))


def parquet_containing(folder: Path, needle: str) -> list[str]:
    with duckdb.connect() as conn:
        return sorted(
            p.relative_to(folder).as_posix()
            for p in folder.rglob("*.parquet")
            if _text_cells(conn, f"read_parquet('{p}')", needle)
        )


def email_texts(content: bytes) -> dict[str, str]:
    """Every text of a message: subject, each text part, and each file of each zip attachment (by its name)."""
    message = email.message_from_bytes(content, policy=policy.default)
    texts = {"subject": str(message["Subject"])}
    for i, part in enumerate(p for p in message.walk() if not p.is_multipart()):
        payload = part.get_payload(decode=True) or b""
        if part.get_content_maintype() == "text":
            texts[f"part {i}"] = payload.decode(part.get_content_charset() or "utf-8")
        elif part.get_content_type() == "application/zip":
            texts |= zip_texts(payload, prefix=f"{part.get_filename()}:")
    return texts


def zip_texts(content: bytes, prefix: str = "") -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {prefix + i.filename: archive.read(i).decode("utf-8", "replace") for i in archive.infolist()}
