import Contracts
import Foundation
import Testing

@Suite struct JSONParserTests {
    @Test(arguments: [
        #"{"a":1,"b":-2.5e3,"c":"x\"y\\z\/\n\u00e9\ud83d\ude00","d":[true,false,null,[]],"e":{}}"#,
        #"  [ 0 , 1.25 , "" ]  "#,
        #""plain""#,
        "12345678901",
    ])
    func agreesWithFoundation(_ text: String) throws {
        let ours = try JSONParser.parse(Array(text.utf8))
        let foundation = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(ours == foundation)
    }

    @Test(arguments: [
        ("{\"a\":", "unexpected end of input at byte 5"),
        ("{\"a\" 1}", "expected ':' after a key at byte 5"),
        ("[1,]", "unexpected character ']' at byte 3"),
        ("{\"a\":1}x", "unexpected data after the JSON value at byte 7"),
        ("\"tab\there\"", "control character in a string at byte 4"),
        ("01", "unexpected data after the JSON value at byte 1"),
        ("\"\\ud800\"", "unpaired surrogate in a string at byte 7"),
        ("tru", "unexpected end of input at byte 0"),
        ("1e999", "number out of range at byte 0"),
        // Postgres text and jsonb cannot hold U+0000, in values or keys.
        (#"{"a":"x\u0000y"}"#, #"NUL (\u0000) is not allowed in strings: it cannot be stored at byte 7"#),
        (#"{"k\u0000":1}"#, #"NUL (\u0000) is not allowed in strings: it cannot be stored at byte 3"#),
        (#"["ok", {"deep": ["\u0000"]}]"#, #"NUL (\u0000) is not allowed in strings: it cannot be stored at byte 18"#),
    ])
    func refusesInvalidJSONSayingWhere(_ text: String, _ expected: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Array(text.utf8)) }
        do {
            _ = try JSONParser.parse(Array(text.utf8))
        } catch {
            #expect(error.description == expected)
        }
    }

    @Test func refusesExcessiveNesting() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Array(deep.utf8)) }
    }

    @Test func refusesInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xFF, 0x22]) }
    }
}

@Suite struct JSONWriterTests {
    @Test func writtenValuesReadBackIdentically() throws {
        let value: JSONValue = [
            "text": "quote \" backslash \\ newline \n tab \t bell \u{07} é 😀", "int": 42, "real": 9.99,
            "negative": -0.5, "list": [true, nil, ["nested": "x"]], "empty": [:],
        ]
        let text = value.json
        #expect(try JSONParser.parse(Array(text.utf8)) == value)
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) == value)
    }
}
