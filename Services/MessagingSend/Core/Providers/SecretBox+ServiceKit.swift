import ServiceKit

/// `SecretBox` is defined in ServiceKit (events-source seals its webhook secrets with it too). The
/// alias keeps this module's files that do not import ServiceKit, and its public API, naming it.
public typealias SecretBox = ServiceKit.SecretBox
