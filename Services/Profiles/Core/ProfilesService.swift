import ServiceKit
public enum ProfilesService {
    public static func run() async throws {}
}
