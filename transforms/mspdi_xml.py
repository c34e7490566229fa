"""Microsoft Project XML (MSPDI, `File > Save As > XML`) → one string row per `<Task>`, for the mspdi_tasks contract.

Pure: bytes in, a frame of strings out. The file is parsed as a stream by expat, the parser under
`xml.etree.ElementTree.iterparse`: iterparse does not expose line numbers, expat's `CurrentLineNumber` does, so
each row's `_line` is the line of its `<Task>` start tag. Only a task's own scalar elements, its baselines, and
the project's header and resources/assignments are kept; nothing else of the file is held in memory.

Columns are named as the MSPDI elements: `UID`, `Name`, `Summary`, `Milestone`, `Start`, `Finish`...; the
baseline the rows carry as `Baseline Number`, `Baseline Cost`, `Baseline Start`, `Baseline Finish`,
`Baseline Work`, `Baseline Duration`; the project header on every row as `Project Title`, `Project Name`,
`StatusDate`, `BaselineForEarnedValue`, `Project Baseline Start` (the project summary task's, UID 0, start
in that baseline); `Baselines` lists the baseline numbers a task has and
`Resource Types` the types of the resources assigned to it (MSPDI Resource/Type: 0 material, 1 work, 2 cost).

Which baseline: MS Project computes earned value against the baseline named by the project's
`BaselineForEarnedValue` (0 = "Baseline", 1..10 = "Baseline1".."Baseline10"; default 0). Baseline numbers are
slots, not a chronology (a PMO may copy the original plan to Baseline1 and re-save Baseline), so the rows carry
that baseline; when no task has it, the highest-numbered baseline present in the file.
"""

from __future__ import annotations

import codecs
import re
import xml.parsers.expat as expat
from dataclasses import dataclass

import polars as pl

from data_contracts.contract import all_contracts, rename_to_contract

NAMESPACE = "http://schemas.microsoft.com/project"
_SEP = "|"

_PROJECT_FIELDS = {"Name": "Project Name", "Title": "Project Title", "StatusDate": "StatusDate"}
_PROJECT_FIELDS |= {"BaselineForEarnedValue": "BaselineForEarnedValue", "CurrencyCode": "CurrencyCode"}
TASK_FIELDS = (
    "UID", "ID", "Name", "WBS", "OutlineNumber", "OutlineLevel", "IsNull", "Summary", "Milestone",
    "Start", "Finish", "Duration", "Work", "Cost",
)  # fmt: skip
BASELINE_FIELDS = ("Number", "Cost", "Start", "Finish", "Work", "Duration")
COLUMNS = (
    *TASK_FIELDS,
    *(f"Baseline {f}" for f in BASELINE_FIELDS),
    "Baselines",
    "Resource Types",
    *_PROJECT_FIELDS.values(),
    "Project Baseline Start",
)


class NotMSPDI(ValueError):
    """Well-formed XML whose root is not MSPDI's `Project`."""


@dataclass(frozen=True)
class MSPDIFile:
    rows: pl.DataFrame  # COLUMNS as strings, plus `_line`
    encoding: str


def looks_like_xml(data: bytes) -> bool:
    """True when the bytes start (after a BOM and blanks) with `<`: an XML document, not a delimited export.
    HTML (a tool's "Excel" export that is really an HTML table) is left to the delimited-text path."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        head = data[:400].decode("utf-16", errors="ignore")
    else:
        head = data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data
        head = head[:400].decode("latin-1")
    head = head.lstrip().lower()
    return head.startswith("<") and not head.startswith(("<html", "<!doctype html"))


def _encoding(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    declared = re.match(rb"\s*<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)[\"']", data[:200])
    return declared.group(1).decode("ascii").lower() if declared else "utf-8"


class _Reader:
    """Expat handlers: a path of local element names, and the rows built from it."""

    def __init__(self, parser: expat.XMLParserType) -> None:
        self.parser = parser
        self.path: list[str] = []
        self.text: list[str] = []
        self.project: dict[str, str] = {}
        self.tasks: list[dict[str, str | int]] = []
        self.baselines: list[list[dict[str, str]]] = []  # per task, its <Baseline> records
        self.task: dict[str, str | int] | None = None
        self.baseline: dict[str, str] | None = None
        self.resource: dict[str, str] = {}
        self.resource_types: dict[str, str] = {}
        self.assignment: dict[str, str] = {}
        self.assigned: dict[str, set[str]] = {}  # task UID -> resource UIDs

    def start(self, name: str, _attrs: dict) -> None:
        ns, _, local = name.rpartition(_SEP)
        if not self.path and (ns != NAMESPACE or local != "Project"):
            root = f"{{{ns}}}{local}" if ns else local
            raise NotMSPDI(f'the XML root is <{root}>, not Microsoft Project\'s <Project xmlns="{NAMESPACE}">')
        self.path.append(local)
        self.text = []
        where = tuple(self.path)
        if where == ("Project", "Tasks", "Task"):
            self.task = {"_line": self.parser.CurrentLineNumber}
            self.baselines.append([])
        elif where == ("Project", "Tasks", "Task", "Baseline"):
            self.baseline = {}
        elif where == ("Project", "Resources", "Resource"):
            self.resource = {}
        elif where == ("Project", "Assignments", "Assignment"):
            self.assignment = {}

    def data(self, text: str) -> None:
        self.text.append(text)

    def end(self, _name: str) -> None:
        where = tuple(self.path)
        value = "".join(self.text).strip()
        self.text = []
        depth = len(where)
        if depth == 2 and where[1] in _PROJECT_FIELDS:
            self.project[_PROJECT_FIELDS[where[1]]] = value
        elif where[:3] == ("Project", "Tasks", "Task") and self.task is not None:
            if depth == 4 and where[3] in TASK_FIELDS:
                self.task[where[3]] = value
            elif depth == 5 and where[3] == "Baseline" and where[4] in BASELINE_FIELDS and self.baseline is not None:
                self.baseline[where[4]] = value
            elif depth == 4 and where[3] == "Baseline" and self.baseline is not None:
                self.baselines[-1].append(self.baseline)
                self.baseline = None
            elif depth == 3:
                self.tasks.append(self.task)
                self.task = None
        elif where[:3] == ("Project", "Resources", "Resource"):
            if depth == 4 and where[3] in ("UID", "Type"):
                self.resource[where[3]] = value
            elif depth == 3 and self.resource.get("UID"):
                self.resource_types[self.resource["UID"]] = self.resource.get("Type") or "1"  # default: work
        elif where[:3] == ("Project", "Assignments", "Assignment"):
            if depth == 4 and where[3] in ("TaskUID", "ResourceUID"):
                self.assignment[where[3]] = value
            elif depth == 3 and self.assignment.get("TaskUID"):
                self.assigned.setdefault(self.assignment["TaskUID"], set()).add(self.assignment.get("ResourceUID", ""))
        self.path.pop()

    def chosen_baseline(self) -> str | None:
        """The baseline number the rows carry: BaselineForEarnedValue when some task has it, else the highest."""
        present = {b.get("Number", "") for task in self.baselines for b in task}
        wanted = self.project.get("BaselineForEarnedValue") or "0"
        if wanted in present:
            return wanted
        numbers = [int(n) for n in present if n.isdigit()]
        return str(max(numbers)) if numbers else None

    def frame(self) -> pl.DataFrame:
        chosen = self.chosen_baseline()
        project_start = next(
            (b.get("Start") for t, bs in zip(self.tasks, self.baselines, strict=True) if t.get("UID") == "0"
             for b in bs if b.get("Number") == chosen),
            None,
        )  # fmt: skip
        rows = []
        for task, baselines in zip(self.tasks, self.baselines, strict=True):
            row: dict[str, str | int | None] = {c: None for c in COLUMNS} | self.project | task
            picked = next((b for b in baselines if b.get("Number") == chosen), None)
            if picked is None and chosen is None and baselines:
                picked = baselines[-1]  # only malformed numbers: carry one so the contract rejects it
            for field in BASELINE_FIELDS:
                row[f"Baseline {field}"] = None if picked is None else picked.get(field)
            row["Baselines"] = ",".join(b.get("Number", "") for b in baselines) or None
            types = {
                self.resource_types.get(r, "")
                for r in self.assigned.get(str(task.get("UID", "")), ())
                if r in self.resource_types and r not in ("0", "-65535")  # 0 and -65535: no resource
            }
            row["Resource Types"] = ",".join(sorted(types)) or None
            if not row.get("BaselineForEarnedValue") and chosen is not None:
                row["BaselineForEarnedValue"] = chosen
            row["Project Baseline Start"] = project_start
            rows.append(row)
        schema = {c: pl.String for c in COLUMNS} | {"_line": pl.Int64}
        frame = pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
        return frame.select("_line", *COLUMNS).with_columns(pl.col(c).replace("", None) for c in COLUMNS)


def parse_mspdi(data: bytes) -> MSPDIFile:
    """The tasks of an MSPDI file, one string row each. Raises NotMSPDI for other XML and
    `xml.parsers.expat.ExpatError` (with `lineno` and `offset`) for malformed XML."""
    parser = expat.ParserCreate(namespace_separator=_SEP)
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    reader = _Reader(parser)
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    parser.CharacterDataHandler = reader.data
    parser.buffer_text = True
    chunk = 1 << 16
    for at in range(0, max(len(data), 1), chunk):
        parser.Parse(data[at : at + chunk], False)
    parser.Parse(b"", True)
    return MSPDIFile(reader.frame(), _encoding(data))


def parse_xml_export(relative_path: str, data: bytes) -> dict:
    """The fields of ingest's ParsedFile for an XML export: MSPDI parsed into the mspdi_tasks contract's columns
    (renamed like a CSV header), other XML "unrecognised", malformed XML "unreadable" with its line and column."""
    encoding = _encoding(data)
    try:
        parsed = parse_mspdi(data)
    except expat.ExpatError as exc:
        where = f"line {exc.lineno}, column {exc.offset + 1}"
        problem = expat.errors.messages.get(exc.code, str(exc))
        message = f"{relative_path}: malformed XML at {where}: {problem}"
        return {"status": "unreadable", "kind": None, "rows": None, "encoding": encoding, "message": message}
    except NotMSPDI as exc:
        message = f"{relative_path}: an XML file, but not a known export format: {exc}"
        return {"status": "unrecognised", "kind": None, "rows": None, "encoding": encoding, "message": message}
    contract = all_contracts()["mspdi_tasks"]
    rows = rename_to_contract(parsed.rows, contract)
    rows = rows.select("_line", *[c for c in rows.columns if c != "_line" and contract.canonical_name(c)])
    return {"status": "parsed", "kind": contract.kind, "rows": rows, "encoding": parsed.encoding, "message": ""}
