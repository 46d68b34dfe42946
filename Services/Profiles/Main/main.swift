import ProfilesCore
import ServiceKit

await ServiceMain.run("profiles") { try await ProfilesService.run() }
