import Testing

@testable import ServiceKit

struct SecretsTests {
    @Test func idsAndTokensAreBase62OfTheirLength() {
        let id = Secrets.id("use_")
        #expect(id.hasPrefix("use_") && id.count == 28)
        #expect(Secrets.token().count == 32)
        let allowed = Set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        #expect(id.dropFirst(4).allSatisfy(allowed.contains))
        #expect(Secrets.id("use_") != id)
    }

    /// Ten digits come from each random word: every position, the last of a word and the first of
    /// the next included, takes all 62 characters about equally often, independently of its neighbour.
    @Test func everyPositionIsUniform() {
        let samples = 12_400
        var counts = Array(repeating: [Character: Int](), count: 24)
        // Neighbours are independent too: equal about one time in 62, not always.
        var sameAsNext = Array(repeating: 0, count: 23)
        for _ in 0..<samples {
            let characters = Array(Secrets.randomBase62(count: 24))
            for (position, character) in characters.enumerated() {
                counts[position][character, default: 0] += 1
                if position < 23, characters[position + 1] == character { sameAsNext[position] += 1 }
            }
        }
        #expect(sameAsNext.allSatisfy { (120...290).contains($0) }, "\(sameAsNext)")
        for (position, histogram) in counts.enumerated() {
            // 200 expected per character; a bias of one digit in ten would show far outside this.
            #expect(histogram.count == 62, "position \(position)")
            #expect(histogram.values.allSatisfy { (120...290).contains($0) }, "position \(position): \(histogram)")
        }
    }
}
