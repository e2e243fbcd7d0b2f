"""Alarm codes in OCR text and typed codes: every controller format, the OCR slips they survive, and the
numbers on a screen that are not codes."""

import pytest

from floor.ocr.alarm_codes import AlarmCode, extract_alarm_codes, mentions_alarms, normalise_code


def codes(text):
    return [(found.code, found.family) for found in extract_alarm_codes(text)]


# --- Fanuc ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, code",
    [
        ("SV0401 V READY OFF", "SV0401"),
        ("OT0500 + OVERTRAVEL ( SOFT 1 )", "OT0500"),
        ("PS0010 IMPROPER G-CODE", "PS0010"),
        ("SR5010 SPINDLE ALARM", "SR5010"),
        ("IO1001 I/O LINK ERROR", "IO1001"),
        ("SW0100 PARAMETER WRITE ENABLE", "SW0100"),
        ("PW0000 POWER MUST BE OFF", "PW0000"),
        ("OH0700 OVERHEAT", "OH0700"),
        ("MC0001 MACRO", "MC0001"),
        ("SP1241 SPINDLE", "SP1241"),
        ("DS0001 SYNC", "DS0001"),
        ("IE0001 EXCESS", "IE0001"),
        ("BG0001 BACKGROUND", "BG0001"),
        ("SN0001 SERIAL", "SN0001"),
        ("EX0001 EXTENDED", "EX0001"),
        ("PC0001 PMC", "PC0001"),
    ],
)
def test_fanuc_class_and_four_digits_is_a_fanuc_code(line, code):
    assert codes(line) == [(code, "fanuc")]


@pytest.mark.parametrize(
    "line",
    [
        "SV 0401 V READY OFF",
        "SVO401 V READY OFF",
        "SV04O1 V READY OFF",
        "5V0401 V READY OFF",
        "SVO4O1 (X)",
        "SV040l X",
    ],
)
def test_fanuc_code_survives_ocr_spaces_and_letter_digit_confusions(line):
    assert codes(line) == [("SV0401", "fanuc")]


def test_fanuc_code_read_all_in_digits_is_repaired_on_an_alarm_line():
    assert codes("ALARM\n102602 COOLANT LEVEL LOW") == [("IO2602", "fanuc")]


def test_old_fanuc_bare_number_before_servo_alarm_is_a_fanuc_code():
    assert codes("ALARM MESSAGE\n401 SERVO ALARM: (VRDY OFF)") == [("401", "fanuc")]


def test_old_fanuc_over_travel_number_is_a_fanuc_code():
    assert codes("ALARM MESSAGE\n510 OVER TRAVEL : +X") == [("510", "fanuc")]


def test_old_fanuc_number_with_its_five_read_as_s_is_repaired_on_an_alarm_screen():
    assert codes("ALARM\nS11 SERVO ALARM: (EXCESS ERROR)") == [("511", "fanuc")]
    assert codes("POS\nS11 T01") == []


def test_old_fanuc_overheat_message_marks_its_line_as_an_alarm_line():
    assert codes("MESSAGE\n700 OVERHEAT: SPINDLE") == [("700", "fanuc")]


def test_fanuc_code_in_alarm_history_after_date_and_time_is_found():
    assert codes("2026/11/26 10:23:45 SV0401 V READY OFF") == [("SV0401", "fanuc")]


def test_two_letters_that_are_no_fanuc_class_give_no_code():
    assert codes("AB0401 SOMETHING") == []


def test_spaced_class_and_number_without_alarm_context_is_a_spindle_reading_not_a_code():
    assert codes("POSITION\nSP 1200") == []
    assert codes("SP 1200 RPM") == []


# --- Siemens ----------------------------------------------------------------------------------------------


def test_sinumerik_numbers_at_the_start_of_alarm_lines_are_siemens_codes():
    text = (
        "Alarm list SINUMERIK 840D sl\n"
        "25000 Axis X1 hardware fault of active encoder\n"
        "10720 Channel 1 block N120 axis Z software limit switch minus\n"
        "700016 Hydraulikdruck zu niedrig\n"
    )
    assert codes(text) == [("25000", "siemens"), ("10720", "siemens"), ("700016", "siemens")]


def test_sinumerik_alarm_after_date_and_time_columns_is_found():
    assert codes("Alarme\n26.11.26 09:12:33.456 25000 Achse X1 Hardwarefehler") == [("25000", "siemens")]


def test_alarm_message_starting_with_tool_is_still_a_message():
    assert codes("Alarmliste SINUMERIK\n700179 TOOL CHANGER FAULT") == [("700179", "siemens")]


def test_long_alarm_number_with_a_message_counts_even_when_the_title_was_misread():
    assert codes("warms\n66197 LUBE LOW") == [("66197", "siemens")]


def test_alarm_title_with_one_letter_misread_still_marks_an_alarm_screen():
    assert codes("ACTIVE ACARMS\n377 X SOBRECARGA SERVO") == [("377", "haas")]


# --- Haas -------------------------------------------------------------------------------------------------


def test_haas_number_at_the_start_of_an_alarm_line_is_a_haas_code():
    assert codes("ALARMS\n108 X SERVO OVERLOAD") == [("108", "haas")]


def test_haas_ngc_dotted_id_is_a_haas_code():
    assert codes("ACTIVE ALARMS HAAS NGC\n40.4143 SPINDLE DRIVE FAULT") == [("40.4143", "haas")]


def test_haas_number_followed_by_a_misread_space_is_found():
    assert codes("ALARMS\n| 659°Z LOW AIR PRESSURE") == [("659", "haas")]


def test_alarm_number_with_its_space_read_as_a_full_stop_before_a_word_is_found():
    assert codes("Alarm list\n24708.Puerta abierta") == [("24708", "siemens")]


def test_alarm_number_followed_by_a_decimal_is_not_a_code():
    assert codes("ALARMS\n24708.5 Puerta abierta") == []


def test_one_line_is_read_with_the_alarm_words_and_make_of_its_screen():
    screen = "SINUMERIK 840D sl Alarm list\nX 12.000"

    assert [(found.code, found.family) for found in extract_alarm_codes("4132 Porte", context=screen)] == [
        ("4132", "siemens")
    ]
    assert extract_alarm_codes("4132 Porte") == []


# --- Okuma ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("line", ["ALARM-B 2136 Overcurrent", "2136 ALARM-B SERVO", "ALARM B 2136 X axis"])
def test_okuma_alarm_with_class_letter_gives_the_number(line):
    assert codes(line) == [("2136", "okuma")]


@pytest.mark.parametrize(
    "line", ["AUARM=A 1899 LUBE LOW", "ALARM?A 1899 LUBE LOW", "TALARNZA 1899 Presion de aire baja"]
)
def test_okuma_alarm_survives_misread_letters_dash_and_a_glued_bar_end(line):
    assert codes(line) == [("1899", "okuma")]


def test_a_word_ending_in_alarm_is_not_an_okuma_class():
    assert codes("SAMMELALARM-B 2136") == []


# --- Mitsubishi -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["M01 0101", "S01 0051", "Z70 0004", "T02 0204", "S02 0013", "Y03 0001"])
def test_mitsubishi_class_and_four_digits_is_a_mitsubishi_code(code):
    assert codes(f"{code} Dog overrun") == [(code, "mitsubishi")]


def test_mitsubishi_code_survives_o_for_zero_and_dollar_for_s():
    assert codes("TO1 0096 SPINDLE\n$01 0109 SPINDLE\nYO3 0256 Niveau") == [
        ("T01 0096", "mitsubishi"),
        ("S01 0109", "mitsubishi"),
        ("Y03 0256", "mitsubishi"),
    ]


def test_mitsubishi_class_letter_read_as_a_digit_at_the_head_of_an_alarm_line_is_repaired():
    assert codes("ALARM\n'270 @276 Sovraccarico servo\n.Z7® @320 Pressione aria bassa") == [
        ("Z70 0276", "mitsubishi"),
        ("Z70 0320", "mitsubishi"),
    ]


def test_lone_lowercase_letter_before_an_alarm_line_is_frame_noise():
    assert codes("ALARM\ni 270 0124 Pression d'air basse\nl 25000 Axis X1 fault") == [
        ("Z70 0124", "mitsubishi"),
        ("25000", "siemens"),
    ]


def test_mitsubishi_code_with_its_class_read_as_a_digit_and_its_gap_as_a_full_stop_is_found():
    assert codes("ALARM\n270.0349 Servo Uberlast") == [("Z70 0349", "mitsubishi")]


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("770.0349 Servo Uberlast", "Z70 0349"),
        ("102.0109 Feed hold", "T02 0109"),
        ("702 0204 Cycle start prohibited", "T02 0204"),
    ],
)
def test_mitsubishi_z_and_t_classes_read_as_a_seven_or_a_one_are_told_apart_by_their_group(line, code):
    assert codes(f"ALARM\n{line}") == [(code, "mitsubishi")]


def test_mitsubishi_code_with_its_class_read_as_a_digit_off_an_alarm_screen_needs_a_message():
    assert codes("255 0383 Achse X1 Hardwarefehler") == [("Z55 0383", "mitsubishi")]
    assert codes("255 0383 Achse") == []


def test_mitsubishi_group_with_a_small_o_for_zero_is_found():
    assert codes("‘To2 0059 Porta aperta") == [("T02 0059", "mitsubishi")]
    assert codes("Too 0059 Porta aperta") == []


def test_three_digits_before_a_dot_are_no_haas_ngc_id():
    assert codes("ACTIVE ALARMS\n155.0123 SPINDLE DRIVE FAULT") == []


def test_mitsubishi_code_with_the_gap_read_as_a_quote_is_found():
    assert codes("Z70'0355 DOOR INTERLOCK") == [("Z70 0355", "mitsubishi")]


# --- Heidenhain -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["320-0028", "130-07E2", "196-CAFA"])
def test_heidenhain_number_with_hex_part_is_a_heidenhain_code(code):
    assert codes(f"Error {code} Fehler im NC-Programm") == [(code, "heidenhain")]


def test_heidenhain_code_survives_euro_sign_for_e_and_colon_for_dash():
    assert codes("Error 177-€2EC Tur nicht verriegelt\n670:D8Al TOOL CHANGER") == [
        ("177-E2EC", "heidenhain"),
        ("670-D8A1", "heidenhain"),
    ]


def test_heidenhain_code_survives_a_glued_letter_in_front_and_q_for_zero():
    assert codes("f237-9F7C Schmierung\nError 611-AQ@5 Surcharge servo") == [
        ("237-9F7C", "heidenhain"),
        ("611-A005", "heidenhain"),
    ]


def test_heidenhain_code_with_spaces_read_around_the_dash_is_found():
    assert codes("Error 455 - 7ABE Spindle") == [("455-7ABE", "heidenhain")]


def test_heidenhain_code_between_full_stops_read_for_spaces_is_found():
    assert codes("Fehler.838-BBCB.Puerta abierta") == [("838-BBCB", "heidenhain")]


def test_heidenhain_shape_inside_a_decimal_is_not_a_code():
    assert codes("ERROR\n1.838-BBCB Puerta\n838-BBCB.5 Puerta") == []


def test_single_digit_after_alarm_is_not_a_code():
    assert codes("ALARM 7 ACTIVE") == []


# --- generic ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, code",
    [
        ("ALARM: 123", "123"),
        ("ALARM 123", "123"),
        ("ERROR: 456", "456"),
        ("ERR-456", "456"),
        ("ALARM: 8076. DOOR OPEN", "8076"),
        ("alarm #12 lube", "12"),
    ],
)
def test_old_systems_alarm_and_error_formats_are_generic_codes(text, code):
    assert codes(text) == [(code, "generic")]


@pytest.mark.parametrize(
    "line, code",
    [
        ("ALARM:.3043 SPINDEL_UBERTEMPERATUR", "3043"),  # the space read as a full stop
        ('ALARM"4989°NIVEAU LUBRIFIANT BAS', "4989"),  # words run together on a highlighted row
        ("AUARM!1682)SOBRECARGA SERVO", "1682"),  # L read as U
        ("IALARM 2938 V READY OFF", "2938"),  # a highlight bar's end read as an I
    ],
)
def test_generic_code_survives_ocr_run_together_words_and_misread_keyword(line, code):
    assert codes(line) == [(code, "generic")]


def test_error_number_followed_by_a_dash_is_the_head_of_a_longer_code_not_a_generic_one():
    assert codes("Error 300-#E5B Porte ouverte") == []


def test_alarm_zero_is_a_counter_not_a_code():
    assert codes("ALARM 0\nERROR: 000") == []


# --- not codes --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "X 123.456\nY -45.000\nZ 0.000",  # axis positions
        "F1200 S8000",  # feed and speed
        "T0101 T12",  # tool numbers
        "O1234 N00120",  # program and sequence numbers
        "N00120 G01 X12.5 Y3.0 F1200 S8000 M03",  # a program block
        "10:23:45\n23:59",  # clock times
        "2026/11/26\n26.11.2026\n2026-11-26",  # dates
        "PART COUNT 125\n125 PARTS\nPIECES 4558",  # part counts
        "RUN TIME 34H38M CYCLE TIME 0H32M",  # timers
        "SPINDLE 1200 RPM\n100 % FEED",  # overrides and speeds
    ],
)
def test_screen_numbers_that_are_not_alarms_give_no_code_even_on_an_alarm_screen(text):
    assert codes("ALARM\n" + text) == []


def test_screen_without_alarm_gives_no_code():
    screen = (
        "POSITION FANUC Series 0i-MF\nO5664 N30261\nX 877.456\nY 105.613\nZ -12.000\n"
        "F1842 S7630 T3803\nPIECES 4558\n2021/03/21 23:55:18\nN5460 G01 X78.324 Y93.704 F2151\n"
        "POS PROG OFFSET SYSTEM MESSAGE"
    )
    assert codes(screen) == []


def test_tool_table_row_is_not_a_code_on_a_screen_without_alarm():
    assert codes("TOOL OFFSET\n120 FACE MILL D63\n0120 DRILL 10MM\n001 X 0.000 Y 0.000") == []


def test_program_line_with_garbled_address_words_is_not_a_code():
    assert codes("ALARM MESSAGE\n84950 GOL H-15 029 198.800 F2e70") == []


def test_program_number_misread_with_zeros_is_not_a_code():
    assert codes("Error messages\n00131 Nio760") == []
    assert codes("ALARM\n06976 NSS1234 MAIN PROGRAM") == []


def test_old_fanuc_alarm_with_leading_zero_is_a_code():
    assert codes("ALARM MESSAGE\n010 IMPROPER G-CODE") == [("010", "fanuc")]


@pytest.mark.parametrize("text", ["Alarm list", "ACTIVE ACARMS", "Fehlermeldungen", "ERROR TNC 640"])
def test_alarm_screen_titles_are_recognised_even_with_a_letter_misread(text):
    assert mentions_alarms(text)


@pytest.mark.parametrize("text", ["POSITION", "PROGRAM O1234", "TOOL OFFSET", ""])
def test_other_screen_titles_do_not_mention_alarms(text):
    assert not mentions_alarms(text)


# --- the list ---------------------------------------------------------------------------------------------


def test_codes_are_deduplicated_and_in_reading_order():
    text = "ALARM\nSV0401 V READY OFF\nOT0500 OVERTRAVEL\nSV 0401 V READY OFF\nALARM: 12"
    assert [found.code for found in extract_alarm_codes(text)] == ["SV0401", "OT0500", "12"]


def test_each_code_carries_the_line_it_came_from_with_whitespace_collapsed():
    assert extract_alarm_codes("ALARM\n  SV0401    V READY   OFF  ") == [
        AlarmCode(code="SV0401", family="fanuc", line="SV0401 V READY OFF")
    ]


def test_okuma_code_is_not_also_read_as_a_generic_alarm():
    assert codes("ALARM-B 2136 Overcurrent") == [("2136", "okuma")]


def test_empty_text_gives_no_code():
    assert extract_alarm_codes("") == []


# --- typed codes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed, normal",
    [
        ("sv 0401", "SV0401"),
        ("SV0401", "SV0401"),
        (" svo401 ", "SV0401"),
        ("m01 0101", "M01 0101"),
        ("M010101", "M01 0101"),
        ("z70   0004", "Z70 0004"),
        ("130-07e2", "130-07E2"),
        ("320 - 0028", "320-0028"),
        ("alarm-b 2136", "2136"),
        ("2136 ALARM-B", "2136"),
        ("alarm: 123", "123"),
        ("ERR-456", "456"),
        ("25000", "25000"),
        ("40.4143", "40.4143"),
        ("  spindle   drive\tfault ", "SPINDLE DRIVE FAULT"),
        ("", ""),
    ],
)
def test_typed_code_is_normalised_like_codes_read_from_photos(typed, normal):
    assert normalise_code(typed) == normal


@pytest.mark.parametrize("typed", [None, 401, "\x00\x01", "🙂 sv", "a" * 10_000])
def test_normalise_code_never_raises(typed):
    assert isinstance(normalise_code(typed), str)


# --- what stands in front of an alarm line, and beside the word ALARM -------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        # Sinumerik's alarm square, a bullet or a warning icon, as OCR reads them.
        ("Alarm list\nHi 25000 Axis X1 hardware fault", ["25000"]),
        ("Alarm list\nHM 61393 Servo Überlast", ["61393"]),
        ("Alarm list\n{ME 700176 Puerta abierta", ["700176"]),
        ("Alarm list\ngg 12376 Errore encoder asse Z", ["12376"]),
        ("Alarm list\n® 3688 Error de posicion excesivo", ["3688"]),
        ("Alarm list\n@ 3688 Error de posicion excesivo", ["3688"]),
        # The row's index in an alarm list, alone or with a marker after it.
        ("ALARMS\n1 249 X COOLANT LEVEL LOW\n2 €) 901 SPINDLE DOOR INTERLOCK", ["249", "901"]),
        ("ALARM MESSAGE\n3 0 700712 Achse X1 Hardwarefehler", ["700712"]),
        # A marker read as a digit glued to Mitsubishi's class letter.
        ("ALARM\n7Z55 0040 Presion de aire baja", ["Z55 0040"]),
    ],
)
def test_markers_and_row_numbers_in_front_of_an_alarm_line_are_not_read_as_part_of_it(text, expected):
    assert [code for code, _ in codes(text)] == expected


def test_a_slashed_zero_inside_a_number_is_still_a_zero():
    assert [code for code, _ in codes("Alarm list\n7@@922 Konturüberwachung")] == ["700922"]


@pytest.mark.parametrize(
    "text",
    [
        "ALARM   O1234 N00120",
        "ALARM %05012 N81294 T31",
        "ALARM 08092 N45443",
        "ALARM MESSAGE   0012 N0045  T0101",
        "ALARM   P1234  N44966",
    ],
)
def test_program_and_sequence_numbers_beside_the_word_alarm_are_not_codes(text):
    assert codes(text) == []


@pytest.mark.parametrize(
    "line, code",
    [
        ("2020/06/20 212657 10315 Porta aperta", "10315"),  # the time's colons lost
        ("12.0728 22:07:08 62835 Servo Uberlast", "62835"),  # a dot of the date lost
        ("'.08.23 06:20:26 192 DEFAUT CODEUR AXE X", "192"),  # the date cut by the photo's edge
        ("20.08.23 1937:22 669 SPINDLE ERROR", "669"),
    ],
)
def test_an_alarm_log_entry_gives_the_code_after_its_time_stamp(line, code):
    assert [found for found, _ in codes(f"ALARM HISTORY\n{line}")] == [code]


def test_a_line_that_starts_with_a_date_and_a_time_is_a_log_entry_even_where_no_alarm_word_was_read():
    assert codes("HISTORY HAAS NGC\n2027/07/03 12:19:52 249 X COOLANT LEVEL LOW") == [("249", "haas")]


def test_on_a_screen_not_known_to_show_alarms_a_number_after_a_short_word_is_not_taken():
    # OCR's rubbish on a photo of a position page: short "words", then numbers and more "words".
    assert codes("POSITION\nye 4 10.477. ae: nen, oes Bhs. BER epee\nie 202014 Fe LO eA eee a PUN De") == []


def test_a_time_stamp_alone_or_before_a_quantity_is_no_code():
    assert codes("HISTORY\n2026/10/03 03:23:22\n2029/06/05 11:12:26 125 PARTS") == []


def test_fanuc_class_with_j_for_i_and_mitsubishi_group_with_q_for_zero():
    assert codes("ALARM\nJ01082 TUR NICHT VERRIEGELT\nTQ1 0333 Défaut codeur axe X") == [
        ("IO1082", "fanuc"),
        ("T01 0333", "mitsubishi"),
    ]


def test_a_message_glued_to_its_number_on_a_highlighted_row_is_read():
    assert codes("ALARM / MESSAGES\n225NIVEAULUBRIFIANTBAS") == [("225", "haas")]


def test_an_index_before_a_misread_fanuc_io_class_does_not_make_a_bare_code():
    # "IO 2602" read as "10 2602": the 10 is not a row number, and 2602 alone is not the code.
    assert "2602" not in [code for code, _ in codes("ALARM\n10 2602 COOLANT LEVEL LOW")]


def test_mitsubishi_class_letter_read_in_lower_case():
    assert codes("Alarm log\n12.11.26 15:42:39 yO3 0255 Pression d'air basse") == [("Y03 0255", "mitsubishi")]
