import MessagingSendCore

try await MessagingSendService.run()
