import ProfilesCore

try await ProfilesService.run()
