import ArgumentParser
import EngageCLICore

// The command tree lives in EngageCLICore (tested there); this is only its entry point.
@main
extension Engage {}
