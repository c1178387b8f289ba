using Hawser.Shared.Cli;
using System.CommandLine;
using Hawser.Controller.Store;

namespace Hawser.Controller.Commands;

/// <summary><c>hawser-controller check</c>: SQLite's full integrity check of the store, safe while the controller runs.</summary>
internal sealed class CheckCommand : Command
{
    private readonly Option<string> _data = new("--data")
    {
        HelpName = "DIR",
        Description = "Data directory holding controller.db.",
        DefaultValueFactory = _ => RunCommand.DefaultData,
    };

    public CheckCommand() : base("check", "Check the store for corruption (SQLite integrity_check, read-only). Exits 0 when sound, 3 when not.")
    {
        Options.Add(_data);
        SetAction(Run);
        CommandExamples.Set(this, "hawser-controller check --data /var/lib/hawser-controller");
    }

    private int Run(ParseResult parse)
    {
        var data = Path.GetFullPath(parse.GetValue(_data)!);
        IReadOnlyList<string> problems;
        try
        {
            problems = ControllerStore.CheckIntegrity(data);
        }
        catch (StoreException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return ExitCodes.StoreUnavailable;
        }
        var database = Path.Join(data, ControllerStore.DatabaseFileName);
        if (problems.Count == 0)
        {
            Console.WriteLine($"{database}: ok");
            return ExitCodes.Ok;
        }
        foreach (var problem in problems)
        {
            Console.Error.WriteLine($"{database}: {problem}");
        }
        Console.Error.WriteLine($"error: {database} is corrupt ({problems.Count} problem(s)); restore it from a backup");
        return ExitCodes.StoreUnavailable;
    }
}
