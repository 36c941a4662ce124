import ClearanceCLI
import Foundation

exit(await ClearanceCommand.run())
