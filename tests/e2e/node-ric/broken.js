// A module that cannot be loaded: Runtime.ImportModuleError at init.
require("./no-such-module-here");
exports.handler = async () => "unreachable";
