using System.CommandLine;
using Hawser.Shared.Cli;
using Hawser.Controller.Commands;

var root = new RootCommand("hawser-controller: holds the fleet's desired state and serves agents and hawserctl.")
{
    new InitCommand(),
    new RunCommand(),
    new CheckCommand(),
    new MigrateCommand(),
    new InstallCommand(),
    InstallCommand.Uninstall(),
};
return await CommandLineRunner.RunAsync(root, args);
