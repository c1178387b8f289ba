using Hawser.Shared.Cli;
using System.CommandLine;
using Hawser.Controller.Store;

namespace Hawser.Controller.Commands;

/// <summary>
/// <c>hawser-controller check</c>: SQLite's full integrity check of the store, safe while the controller runs;
/// for PostgreSQL (which checks its own pages) that the database answers and holds a schema this build reads.
/// </summary>
internal sealed class CheckCommand : Command
{
    private readonly Option<string> _data = new("--data")
    {
        HelpName = "DIR",
        Description = "Data directory holding controller.db.",
        DefaultValueFactory = _ => RunCommand.DefaultData,
    };

    private readonly Option<string> _store = StoreOption.Create();

    public CheckCommand() : base("check", "Check the store for corruption (SQLite integrity_check, read-only; for PostgreSQL: reachable, schema known). Exits 0 when sound, 3 when not.")
    {
        Options.Add(_data);
        Options.Add(_store);
        SetAction(Run);
        CommandExamples.Set(this, "hawser-controller check --data /var/lib/hawser-controller", "hawser-controller check --store /etc/hawser/store.conf");
    }

    private int Run(ParseResult parse)
    {
        var data = Path.GetFullPath(parse.GetValue(_data)!);
        if (StoreOption.Read(parse, _store, data) is not { } location)
        {
            return ExitCodes.Usage;
        }
        IReadOnlyList<string> problems;
        try
        {
            problems = location.SqliteDirectory is { } directory ? ControllerStore.CheckIntegrity(directory) : ControllerStore.CheckShared(location);
        }
        catch (StoreException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return ExitCodes.StoreUnavailable;
        }
        if (problems.Count == 0)
        {
            Console.WriteLine($"{location.Description}: ok");
            return ExitCodes.Ok;
        }
        foreach (var problem in problems)
        {
            Console.Error.WriteLine($"{location.Description}: {problem}");
        }
        Console.Error.WriteLine(location.SqliteDirectory is not null
            ? $"error: {location.Description} is corrupt ({problems.Count} problem(s)); restore it from a backup"
            : $"error: {location.Description} is not usable by this controller ({problems.Count} problem(s))");
        return ExitCodes.StoreUnavailable;
    }
}
