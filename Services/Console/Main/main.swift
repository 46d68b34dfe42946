import ConsoleCore
import ServiceKit

await ServiceMain.run("console") { try await ConsoleService.run() }
