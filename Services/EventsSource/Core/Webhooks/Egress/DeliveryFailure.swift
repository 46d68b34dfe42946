/// Why a call got no usable answer, in a fixed vocabulary. The delivery log is shown to the space
/// owner, so it never carries a receiver's body or a socket error: a closed port and a filtered
/// one both read `connection failed`, and internal addresses read `address not allowed` before
/// any connection is tried. Operators find the underlying error in the service log.
enum DeliveryFailure: String, Error, Sendable {
    case invalidURL = "invalid url"
    case addressNotAllowed = "address not allowed"
    case nameNotResolved = "name not resolved"
    case connectionFailed = "connection failed"
    case timedOut = "timed out"
    case invalidAnswer = "invalid answer"
    case secretUnreadable = "secret unreadable"
}
