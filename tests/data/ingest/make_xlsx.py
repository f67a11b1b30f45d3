"""Writes the XLSX ingest fixtures (run with python3 + openpyxl: python3 make_xlsx.py).

- xlsx_grids.xlsx: sheets `Plate A` and `Plate B`, each an 8x12 grid (header 1..12 in row 3
  after a title and a blank row; A01 empty on Plate A, H12 `-` on Plate B), plus a `Notes`
  sheet without data; values as on the CSV fixtures (v(p, r, c)); one value is a float.
- xlsx_long.xlsx: one sheet `Counts` with Plate/Well/CPM/DPM, two 96-well plates (P1, P2),
  numbers stored as numbers, plate ids as text and as a number (2).
- xlsx_bad.xlsx: a grid whose C05 holds the text `n/a`.
"""
from openpyxl import Workbook

ROWS = "ABCDEFGH"


def v(p, r, c):
    return (p * 500 + r * 31 + c * 7) % 5000 + 20


def grid_sheet(ws, p, title, blanks=(), dashes=(), texts=None):
    ws.append([title])
    ws.append([])
    ws.append([None] + list(range(1, 13)))
    for r in range(8):
        row = [ROWS[r]]
        for c in range(12):
            well = f"{ROWS[r]}{c + 1:02d}"
            if well in blanks:
                row.append(None)
            elif well in dashes:
                row.append("-")
            elif texts and well in texts:
                row.append(texts[well])
            else:
                row.append(v(p, r, c) + (0.5 if (r, c) == (1, 1) else 0))
        ws.append(row)


wb = Workbook()
ws = wb.active
ws.title = "Plate A"
grid_sheet(ws, 0, "Plate A, [3H]ketanserin", blanks={"A01"})
grid_sheet(wb.create_sheet("Plate B"), 1, "Plate B", dashes={"H12"})
wb.create_sheet("Notes").append(["counted on 2024-03-12"])
wb.save("xlsx_grids.xlsx")

wb = Workbook()
ws = wb.active
ws.title = "Counts"
ws.append(["Plate", "Well", "CPM", "DPM"])
for p, pid in [(0, "P1"), (1, 2)]:
    for r in range(8):
        for c in range(12):
            ws.append([pid, f"{ROWS[r]}{c + 1:02d}", v(p, r, c), v(p, r, c) * 2])
wb.save("xlsx_long.xlsx")

wb = Workbook()
ws = wb.active
ws.title = "Bad"
grid_sheet(ws, 0, "Bad plate", texts={"C05": "n/a"})
wb.save("xlsx_bad.xlsx")
