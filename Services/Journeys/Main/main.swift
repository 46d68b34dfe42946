import JourneysCore

try await JourneysService.run()
