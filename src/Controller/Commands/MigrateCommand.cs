using System.CommandLine;
using Hawser.Controller.Store;
using Hawser.Shared.Cli;

namespace Hawser.Controller.Commands;

/// <summary>
/// <c>hawser-controller migrate</c>: moves a store to another engine (the SQLite file of one controller into
/// the PostgreSQL several controllers share, or back), every row of every table, then compares the two.
/// </summary>
internal sealed class MigrateCommand : Command
{
    private readonly Option<string> _from = new("--from")
    {
        HelpName = "STORE",
        Description = "The store to copy: sqlite:DIR (the controller's data directory; stop that controller first) or a PostgreSQL URL or 0600 file.",
        Required = true,
    };

    private readonly Option<string> _to = new("--to")
    {
        HelpName = "STORE",
        Description = "The new store, which must be empty: postgres://USER[:PASSWORD]@HOST[:PORT]/DB, a 0600 file holding it, or sqlite:DIR.",
        Required = true,
    };

    public MigrateCommand() : base("migrate", "Copy every revision, node, certificate (keys stay sealed), event and rollout into a new, empty store, then compare the two table by table.")
    {
        Options.Add(_from);
        Options.Add(_to);
        SetAction(Run);
        CommandExamples.Set(this,
            "hawser-controller migrate --from sqlite:/var/lib/hawser-controller --to postgres://hawser@db.example/hawser",
            "hawser-controller migrate --from sqlite:/var/lib/hawser-controller --to /etc/hawser/store.conf");
    }

    private int Run(ParseResult parse)
    {
        StoreLocation from, to;
        try
        {
            from = StoreLocation.Parse(parse.GetValue(_from), RunCommand.DefaultData);
            to = StoreLocation.Parse(parse.GetValue(_to), RunCommand.DefaultData);
        }
        catch (FormatException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return ExitCodes.Usage;
        }
        if (from.Description == to.Description)
        {
            Console.Error.WriteLine($"error: --from and --to are the same store ({from.Description})");
            return ExitCodes.Usage;
        }
        if (from.SqliteDirectory is { } directory && !File.Exists(Path.Join(directory, ControllerStore.DatabaseFileName)))
        {
            Console.Error.WriteLine($"error: there is no store at {from.Description}; nothing was changed");
            return ExitCodes.StoreUnavailable;
        }
        // The source is opened as a controller opens it: a SQLite store a running controller holds is refused,
        // and an older schema is brought up to date first, so both sides have the same tables.
        using var source = StoreOption.Open(from, initialized: false);
        if (source is null)
        {
            return ExitCodes.StoreUnavailable;
        }
        using var target = StoreOption.Open(to, initialized: false);
        if (target is null)
        {
            return ExitCodes.StoreUnavailable;
        }
        Console.WriteLine($"copying {from.Description} (schema v{source.SchemaVersion}) -> {to.Description}");
        IReadOnlyList<(string Table, long Rows)> copied;
        try
        {
            copied = StoreCopy.Copy(source, target, Console.WriteLine);
        }
        catch (StoreException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return ExitCodes.StoreUnavailable;
        }
        catch (Exception ex) when ((target.Engine.Explain(ex) ?? source.Engine.Explain(ex)) is { } explained)
        {
            Console.Error.WriteLine($"error: {explained.Message}; the target was left empty");
            return ExitCodes.StoreUnavailable;
        }
        var differences = StoreCopy.Compare(source, target);
        if (differences.Count > 0)
        {
            foreach (var difference in differences.Take(20))
            {
                Console.Error.WriteLine($"  {difference}");
            }
            Console.Error.WriteLine($"error: the copy differs from the source in {differences.Count} place(s); do not use {to.Description}");
            return ExitCodes.Failed;
        }
        Console.WriteLine($"verified  {copied.Sum(c => c.Rows)} row(s) in {copied.Count} tables, identical in both stores");
        Console.WriteLine($"next      start the controller with --store pointing at {to.Description} and the same --data (its pki/ holds the key that unseals the stored keys)");
        return ExitCodes.Ok;
    }
}
