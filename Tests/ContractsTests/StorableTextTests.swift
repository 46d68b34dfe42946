import Contracts
import Testing

@Suite struct StorableTextTests {
    @Test func aNulEscapeInJSONIsFoundWhereverItIs() {
        #expect(StorableText.problem(inJSON: Array(#"{"userId":"x\u0000y"}"#.utf8)) != nil)
        #expect(StorableText.problem(inJSON: Array(#"{"k\u0000":1}"#.utf8)) != nil)
        // An escaped backslash, then the escape.
        #expect(StorableText.problem(inJSON: Array(#"["\\\u0000"]"#.utf8)) != nil)
        #expect(StorableText.problem(inJSON: [0x7B, 0x00, 0x7D]) != nil)
    }

    @Test func textThatMerelyLooksLikeTheEscapeIsAccepted() {
        #expect(StorableText.problem(inJSON: Array(#"{"a":"\\u0000"}"#.utf8)) == nil)  // the six characters \u0000
        #expect(StorableText.problem(inJSON: Array(#"{"a":"\u0001 u0000"}"#.utf8)) == nil)
        #expect(StorableText.problem(inJSON: Array(#"{"a":"\u00e9"}"#.utf8)) == nil)
    }

    @Test func percentEncodedTargets() {
        #expect(StorableText.problem(inPercentEncoded: "/spaces/a%00b") != nil)
        #expect(StorableText.problem(inPercentEncoded: "/x?cursor=%ff%fe") != nil)
        #expect(StorableText.problem(inPercentEncoded: "/x?cursor=%2") != nil)
        #expect(StorableText.problem(inPercentEncoded: "/x?q=%2500") == nil)  // an encoded "%", then "00"
        #expect(StorableText.problem(inPercentEncoded: "/x?q=caf%C3%A9") == nil)
    }
}
