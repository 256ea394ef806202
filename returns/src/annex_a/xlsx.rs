//! The Annex A workbook: one sheet per list, as inspectors open it in Excel. Cells are typed by their
//! column ([`ColumnKind`]): a date column's `dd/mm/yyyy` text becomes an Excel date (so that it sorts and
//! filters as a date), a count becomes a number; anything that does not read as its kind stays text rather
//! than being dropped.

use rust_xlsxwriter::{ColNum, ExcelDateTime, Format, RowNum, Workbook, Worksheet, XlsxError};

use crate::ssda903::parse_date;
use journey_core::error::{Error, Result};

use super::{AnnexA, ColumnKind, List};

/// rust_xlsxwriter's errors have no variant of their own in the crate's error type: they are I/O failures
/// of producing the file, named as such.
fn xlsx_error(e: XlsxError) -> Error {
    Error::Io(std::io::Error::other(format!(
        "writing the Annex A workbook: {e}"
    )))
}

pub(super) fn workbook(annex: &AnnexA) -> Result<Vec<u8>> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("dd/mm/yyyy");
    for list in &annex.lists {
        let sheet = book.add_worksheet();
        sheet.set_name(&list.name).map_err(xlsx_error)?;
        write_sheet(sheet, list, &bold, &date).map_err(xlsx_error)?;
    }
    book.save_to_buffer().map_err(xlsx_error)
}

fn write_sheet(sheet: &mut Worksheet, list: &List, bold: &Format, date: &Format) -> Result<(), XlsxError> {
    for (c, heading) in list.headings.iter().enumerate() {
        let col = col_num(c)?;
        sheet.write_string_with_format(0, col, heading, bold)?;
        // Wide enough for the heading, within reason.
        sheet.set_column_width(col, (heading.chars().count() + 2).clamp(12, 40) as f64)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    for (r, row) in list.rows.iter().enumerate() {
        let row_num = RowNum::try_from(r + 1).map_err(|_| XlsxError::RowColumnLimitError)?;
        for (c, cell) in row.iter().enumerate() {
            if cell.is_empty() {
                continue;
            }
            let col = col_num(c)?;
            match list.column_kinds.get(c).copied().unwrap_or(ColumnKind::Text) {
                ColumnKind::Date => match parse_date(cell) {
                    Some(d) => {
                        let at = ExcelDateTime::from_ymd(
                            u16::try_from(d.year())
                                .map_err(|_| XlsxError::DateTimeRangeError(cell.clone()))?,
                            u8::try_from(d.month())
                                .map_err(|_| XlsxError::DateTimeRangeError(cell.clone()))?,
                            u8::try_from(d.day()).map_err(|_| XlsxError::DateTimeRangeError(cell.clone()))?,
                        )?;
                        sheet.write_datetime_with_format(row_num, col, &at, date)?;
                    }
                    None => {
                        sheet.write_string(row_num, col, cell)?;
                    }
                },
                ColumnKind::Number => match cell.parse::<f64>() {
                    Ok(n) => {
                        sheet.write_number(row_num, col, n)?;
                    }
                    Err(_) => {
                        sheet.write_string(row_num, col, cell)?;
                    }
                },
                ColumnKind::Text => {
                    sheet.write_string(row_num, col, cell)?;
                }
            }
        }
    }
    Ok(())
}

fn col_num(c: usize) -> Result<ColNum, XlsxError> {
    ColNum::try_from(c).map_err(|_| XlsxError::RowColumnLimitError)
}
