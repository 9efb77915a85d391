from __future__ import annotations

import pytest

from services.gateway.batches.rows import MAX_ROWS, BatchInput, BatchRow, decode_csv, parse_csv, parse_json
from services.gateway.edge.errors import ApiError

EAN = "5901234123457"  # valid check digit
BAD_EAN = "5901234123458"  # check digit 8, should be 7


def _error(call: object, *args: object) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call(*args)  # type: ignore[operator]
    assert caught.value.status == 400
    return caught.value


# --- JSON ---------------------------------------------------------------------------------

def test_json_defaults_apply_and_rows_override_them() -> None:
    batch = parse_json({
        "symbology": "ean", "format": "PNG", "company": "CompanyA", "options": {"dpi": 300, "write_text": False},
        "sheet": {"template": "avery-l7160"}, "idempotency_key": "k1",
        "items": [
            {"data": EAN},
            {"data": "HELLO-1", "symbology": "code128", "format": "svg", "options": {"dpi": 600}},
        ]})
    assert (batch.company, batch.sheet, batch.idempotency_key) == ("CompanyA", {"template": "avery-l7160"}, "k1")
    assert (batch.symbology, batch.format) == ("ean13", "png")  # canonical, as a single job's
    first, second = batch.rows
    assert (first.row, first.data, first.symbology, first.format) == (1, EAN, "ean13", "png")
    assert first.options == {"dpi": 300, "write_text": False}
    # The row's own fields win; options are merged key by key.
    assert (second.row, second.symbology, second.format) == (2, "code128", "svg")
    assert second.options == {"dpi": 600, "write_text": False}
    assert (batch.valid, batch.invalid, batch.first_errors()) == (2, 0, [])


def test_no_symbology_anywhere_leaves_it_to_the_company_profile() -> None:
    batch = parse_json({"items": [{"data": "ABC"}]})
    row = batch.rows[0]
    assert (row.symbology, row.format, row.options, row.error_code) == (None, None, {}, None)


def test_structured_gs1_data_is_stored_as_submitted() -> None:
    batch = parse_json({"items": [{"data": {"gs1": {"01": "09501101530003", "17": "251231"}}},
                                  {"data": {"gs1": {"01": "09501101530003"}}, "symbology": "qrcode"}]})
    gs1_128, qr = batch.rows
    assert (gs1_128.data, gs1_128.symbology) == ("(01)09501101530003(17)251231", "gs1_128")
    assert (qr.data, qr.symbology, qr.options) == ("(01)09501101530003", "qrcode", {"gs1": True})


def test_bad_rows_keep_their_place_and_do_not_sink_the_batch() -> None:
    batch = parse_json({"symbology": "ean13", "items": [
        {"data": EAN},
        {"data": BAD_EAN},
        {"data": "ABC", "symbology": "nope"},
        {"data": 12345},
        "just a string",
        {"symbology": "code128"},
        {"data": "ABC", "symbology": "code128", "options": {"scale": 2}},
        {"data": EAN},
    ]})
    assert [row.error_code for row in batch.rows] == [
        None, "invalid_check_digit", "unknown_symbology", "invalid_request", "invalid_request", "invalid_request",
        "invalid_option", None]
    assert [row.row for row in batch.rows] == list(range(1, 9))
    assert (batch.valid, batch.invalid) == (2, 6)
    assert batch.rows[1].data == BAD_EAN and "check digit" in (batch.rows[1].error_message or "")
    assert batch.rows[3].data == "12345"  # non-string data shown as its JSON
    assert "scale" in (batch.rows[6].error_message or "")


def test_first_errors_lists_the_first_n_rejected_rows() -> None:
    items = [{"data": EAN if i % 3 else BAD_EAN} for i in range(1, 101)]
    batch = parse_json({"symbology": "ean13", "items": items})
    assert batch.invalid == 33
    errors = batch.first_errors()
    assert len(errors) == 20
    assert [e["row"] for e in errors[:3]] == [3, 6, 9]
    assert set(errors[0]) == {"row", "code", "message"} and errors[0]["code"] == "invalid_check_digit"
    assert [e["row"] for e in batch.first_errors(2)] == [3, 6]


def test_identical_rows_are_separate_objects() -> None:
    batch = parse_json({"options": {"dpi": 300}, "items": [{"data": "A"}, {"data": "A"}]})
    first, second = batch.rows
    first.options["dpi"] = 600
    assert (second.row, second.options) == (2, {"dpi": 300})


@pytest.mark.parametrize("body,code,words", [
    ([{"data": "A"}], "invalid_request", "JSON object"),
    ({}, "invalid_request", "items is required"),
    ({"items": {"data": "A"}}, "invalid_request", "items must be a list"),
    ({"items": []}, "invalid_request", "must not be empty"),
    ({"items": [{"data": "A"}], "symbology": 5}, "invalid_request", "symbology"),
    ({"items": [{"data": "A"}], "symbology": "nope"}, "unknown_symbology", "nope"),
    ({"items": [{"data": "A"}], "format": "jpeg"}, "unknown_format", "jpeg"),
    ({"items": [{"data": "A"}], "options": [1]}, "invalid_request", "options"),
    ({"items": [{"data": "A"}], "company": "x" * 65}, "invalid_request", "company"),
    ({"items": [{"data": "A"}], "sheet": "avery"}, "invalid_request", "sheet"),
    ({"items": [{"data": "A"}], "idempotency_key": 1}, "invalid_request", "idempotency_key"),
])
def test_json_body_problems_reject_the_whole_batch(body: object, code: str, words: str) -> None:
    error = _error(parse_json, body)
    assert error.code == code and words in error.message


def test_unknown_top_level_fields_are_ignored_as_for_a_single_job() -> None:
    batch = parse_json({"items": [{"data": "A", "colour": "red"}], "progress": True, "note": "x"})
    assert batch.valid == 1


def test_more_than_max_rows_is_too_many_rows() -> None:
    error = _error(parse_json, {"items": [{"data": "A"}] * (MAX_ROWS + 1)})
    assert error.code == "too_many_rows"
    assert "100,000" in error.message and "more" in error.message


def test_exactly_max_rows_is_accepted() -> None:
    batch = parse_json({"items": [{"data": "A"}] * MAX_ROWS})
    assert (batch.valid, batch.rows[-1].row) == (MAX_ROWS, MAX_ROWS)


# --- rows as JSON -------------------------------------------------------------------------

def test_row_json_is_compact_and_reads_back() -> None:
    batch = parse_json({"items": [{"data": "A"}, {"data": BAD_EAN, "symbology": "ean13", "format": "svg",
                                                  "options": {"dpi": 300}}]})
    plain, bad = batch.rows
    assert plain.to_json() == {"row": 1, "data": "A"}
    assert bad.to_json() == {"row": 2, "data": BAD_EAN, "symbology": "ean13", "format": "svg",
                             "options": {"dpi": 300}, "error_code": "invalid_check_digit",
                             "error_message": bad.error_message}
    assert [BatchRow.from_json(row.to_json()) for row in batch.rows] == batch.rows


# --- CSV ----------------------------------------------------------------------------------

def test_csv_with_defaults_from_the_query_and_option_columns() -> None:
    text = ("data,symbology,dpi,write_text,module_width,foreground\n"
            f"{EAN},ean13,300,false,0.33,#000080\n"
            "ABC 123,,,TRUE,,\n")
    batch = parse_csv(text, {"symbology": "code128", "format": "SVG", "company": "CompanyA",
                             "sheet": '{"template": "avery-l7160"}'})
    assert (batch.symbology, batch.format, batch.company, batch.sheet) == (
        "code128", "svg", "CompanyA", {"template": "avery-l7160"})
    ean, text_row = batch.rows
    assert (ean.row, ean.symbology, ean.format) == (1, "ean13", "svg")
    # Typed like JSON: numbers and true/false (Excel's TRUE too); anything else a string.
    assert ean.options == {"dpi": 300, "write_text": False, "module_width": 0.33, "foreground": "#000080"}
    assert (text_row.data, text_row.symbology, text_row.options) == ("ABC 123", "code128", {"write_text": True})
    assert batch.invalid == 0


def test_csv_options_column_is_merged_under_the_option_columns() -> None:
    text = 'data,options,dpi\nA,"{""dpi"": 600, ""quiet_zone"": 2}",300\nB,"{""dpi"": 600}",\n'
    batch = parse_csv(text, {"symbology": "code128", "options": '{"write_text": false}'})
    a, b = batch.rows
    assert a.options == {"write_text": False, "dpi": 300, "quiet_zone": 2}
    assert b.options == {"write_text": False, "dpi": 600}


def test_a_bad_options_cell_is_a_row_error_not_a_file_error() -> None:
    batch = parse_csv('data,options\nA,{"dpi": 300\nB,[1]\nC,\n', {"symbology": "code128"})
    assert [(r.row, r.data, r.error_code) for r in batch.rows] == [
        (1, "A", "invalid_option"), (2, "B", "invalid_option"), (3, "C", None)]
    assert (batch.rows[0].error_message or "").startswith("line 2: options must be a JSON object")


def test_an_unknown_option_column_is_a_row_error_naming_it() -> None:
    batch = parse_csv("data,scale\nA,2\nB,\n", {"symbology": "code128"})
    assert batch.rows[0].error_code == "invalid_option" and "scale" in (batch.rows[0].error_message or "")
    assert batch.rows[1].error_code is None  # empty cell: not given


def test_csv_row_errors_carry_the_row_and_name_the_line() -> None:
    text = f"data,symbology\n\n{EAN},ean13\n\n{BAD_EAN},ean13\nA,nope\n"
    batch = parse_csv(text, {})
    assert [(r.row, r.error_code) for r in batch.rows] == [
        (1, None), (2, "invalid_check_digit"), (3, "unknown_symbology")]
    errors = batch.first_errors()
    assert [(e["row"], e["code"]) for e in errors] == [(2, "invalid_check_digit"), (3, "unknown_symbology")]
    assert errors[0]["message"].startswith("line 5: ean13 check digit")
    assert errors[1]["message"].startswith("line 6: unknown symbology 'nope'")
    assert batch.rows[0].to_json() == {"row": 1, "data": EAN, "symbology": "ean13"}


def test_semicolon_csv_from_excel_with_bom_crlf_and_decimal_commas() -> None:
    raw = (f"\ufeffData;Symbology;module_width;write_text\r\n{EAN};ean13;0,33;FALSE\r\n;;;\r\n\r\n"
           "A;code128;;\r\n").encode()
    batch = parse_csv(decode_csv(raw), {})
    assert [(r.row, r.data, r.symbology) for r in batch.rows] == [(1, EAN, "ean13"), (2, "A", "code128")]
    assert batch.rows[0].options == {"module_width": 0.33, "write_text": False}


def test_tab_delimited_csv() -> None:
    batch = parse_csv("data\tsymbology\nA,B\tcode128\n", {})
    assert (batch.rows[0].data, batch.rows[0].symbology, batch.invalid) == ("A,B", "code128", 0)


def test_a_bom_left_in_the_text_is_ignored() -> None:
    assert parse_csv("\ufeffdata\nA\n", {}).rows[0].data == "A"


def test_quoted_fields_may_span_lines() -> None:
    batch = parse_csv('data,symbology\n"line one\nline two",qrcode\nB,nope\n', {})
    assert [(r.row, r.data) for r in batch.rows] == [(1, "line one\nline two"), (2, "B")]
    assert batch.invalid == 1 and (batch.rows[1].error_message or "").startswith("line 4:")


def test_fewer_cells_than_columns_means_not_given() -> None:
    batch = parse_csv("data,symbology,format\nA\n", {"symbology": "code128"})
    assert (batch.rows[0].symbology, batch.rows[0].format, batch.invalid) == ("code128", None, 0)


def test_a_value_in_an_unnamed_column_is_a_row_error() -> None:
    batch = parse_csv("data,symbology,\nA,code128,\nB,code128,oops\n", {})
    assert [r.error_code for r in batch.rows] == [None, "invalid_request"]


@pytest.mark.parametrize("text,line,words", [
    ("", 1, "no header"),
    ("\n\n", 1, "no header"),
    ("\nsymbology,format\nean13,png\n", 2, "no 'data' column"),
    ("data,symbology,Data\nA,B,C\n", 1, "'data' appears twice"),
    ("data,dpi,dpi\nA,1,2\n", 1, "'dpi' appears twice"),
    ("data,symbology\nA,code128\n\nB,code128,png\n", 4, "3 cells"),
    ('data\nA\n"B\nC\nD\n', 3, "quote"),
    ('data\n"A"B\n', 2, "expected"),
])
def test_unreadable_csv_names_the_line(text: str, line: int, words: str) -> None:
    error = _error(parse_csv, text, {})
    assert error.code == "invalid_csv"
    assert error.message.startswith(f"line {line}:") and words in error.message


@pytest.mark.parametrize("raw,line", [
    (b"data\nA\n\xe9t\xe9\n", 3),
    (b"\xef\xbb\xbfdata\r\nA\r\nB\r\n\xff\r\n", 4),
    (b"data\rA\r\x80", 3),
])
def test_invalid_utf8_names_the_line_of_the_first_bad_byte(raw: bytes, line: int) -> None:
    error = _error(decode_csv, raw)
    assert error.code == "invalid_csv" and error.message.startswith(f"line {line}:")
    assert "UTF-8" in error.message


def test_decode_csv_strips_the_bom() -> None:
    assert decode_csv(b"\xef\xbb\xbfdata\nA\n") == "data\nA\n"


@pytest.mark.parametrize("query,code,words", [
    ({"sheet": "{not json"}, "invalid_request", "sheet"),
    ({"sheet": "[1, 2]"}, "invalid_request", "sheet"),
    ({"options": "1"}, "invalid_request", "options"),
    ({"symbology": "nope"}, "unknown_symbology", "nope"),
    ({"format": "gif"}, "unknown_format", "gif"),
])
def test_bad_query_defaults_reject_the_whole_batch(query: dict[str, str], code: str, words: str) -> None:
    error = _error(parse_csv, "data\nA\n", query)
    assert error.code == code and words in error.message


def test_empty_query_values_are_not_given() -> None:
    batch = parse_csv("data\nA\n", {"symbology": "", "format": "", "sheet": "", "company": ""})
    assert (batch.symbology, batch.format, batch.sheet, batch.company) == (None, None, None, None)


def test_csv_over_max_rows_is_too_many_rows() -> None:
    error = _error(parse_csv, "data\n" + "A\n" * (MAX_ROWS + 5), {})
    assert error.code == "too_many_rows" and "100,000" in error.message


def test_batch_input_counts_rows_set_by_hand() -> None:
    batch = BatchInput(rows=[BatchRow(row=1, data="A"), BatchRow(row=2, data="B", error_code="x", error_message="y")])
    assert (batch.valid, batch.invalid, batch.first_errors()) == (1, 1, [{"row": 2, "code": "x", "message": "y"}])


def test_rows_that_cannot_be_json_encoded_are_still_checked() -> None:
    # 2**70 is past what orjson encodes: such a row is checked on its own, not remembered.
    batch = parse_json({"symbology": "code128", "options": {"dpi": 2 ** 70}, "items": [{"data": "A"}, {"data": "A"}]})
    assert [(r.row, r.error_code) for r in batch.rows] == [(1, "invalid_option"), (2, "invalid_option")]
    batch.rows[0].options["dpi"] = 300
    assert batch.rows[1].options == {"dpi": 2 ** 70} and batch.options == {"dpi": 2 ** 70}


def test_gs1_ai_columns_make_each_rows_element_string_and_digital_link_is_an_option_column() -> None:
    text = ("(01),(10),(17),symbology,digital_link\n"
            "09506000134352,LOT1,271231,qrcode,true\n"
            "09506000134352,,271231,datamatrix,https://id.example.com\n")
    batch = parse_csv(text, {})
    assert [(r.data, r.symbology, r.options) for r in batch.rows] == [
        ("(01)09506000134352(10)LOT1(17)271231", "qrcode", {"digital_link": True}),
        ("(01)09506000134352(17)271231", "datamatrix", {"digital_link": "https://id.example.com"})]
    assert all(r.valid for r in batch.rows)


def test_a_header_with_both_data_and_ai_columns_is_refused() -> None:
    with pytest.raises(ApiError) as refused:
        parse_csv("data,(01)\nX,09506000134352\n", {})
    assert "both" in refused.value.message
