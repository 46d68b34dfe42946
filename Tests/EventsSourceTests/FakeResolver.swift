import Synchronization

@testable import EventsSourceCore

/// A resolver with set answers per host; each host's answers are used in turn (the last one
/// repeats), so a test can answer one way when a URL is checked and another when it is called.
final class FakeResolver: HostResolver {
    private let answers: Mutex<[String: [[String]]]>
    private let asked = Mutex<[String]>([])

    init(_ answers: [String: [[String]]]) {
        self.answers = Mutex(answers)
    }

    var questions: [String] { asked.withLock { $0 } }

    func addresses(of host: String) async throws -> [IPAddress] {
        asked.withLock { $0.append(host) }
        let texts: [String]? = answers.withLock { answers in
            guard var queue = answers[host], let first = queue.first else { return nil }
            if queue.count > 1 { queue.removeFirst() }
            answers[host] = queue
            return first
        }
        guard let texts, !texts.isEmpty else { throw HostNotResolved() }
        return texts.map { IPAddress(literal: $0)! }
    }
}
