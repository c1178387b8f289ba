using System.Data;
using System.Data.Common;
using Hawser.Controller.Store.Engines;

namespace Hawser.Controller.Store;

/// <summary>
/// Agent reports: the write every agent makes after every converge, so the one the store makes most. It goes
/// through one connection whose two statements (the node's update, the event insert) are prepared once: SQLite
/// (and PostgreSQL) compile each only the first time, and the event log costs a bound insert rather than a parse per report.
/// </summary>
public sealed partial class ControllerStore
{
    // SQLite's one connection is taken by one report at a time; waiting for it holds no thread.
    private readonly SemaphoreSlim _reportGate = new(1, 1);
    private ReportStatements? _reportStatements;

    /// <summary>
    /// Records an agent's report: its applied revision, the report, a drift correction when it was one, and the events it makes;
    /// <paramref name="isOutcome"/> marks the converge of the revision the node was last sent, kept as what that revision did.
    /// </summary>
    public async Task RecordReportAsync(string node, ulong appliedRevision, byte[] report, bool driftCorrected, IReadOnlyList<EventRecord>? events = null,
        bool isOutcome = false, CancellationToken cancellationToken = default)
    {
        List<EventRecord> appended;
        if (_engine.IsShared)
        {
            // PostgreSQL takes reports side by side, each on a pooled connection (Npgsql prepares the statements it
            // sees often), awaited: thousands of agents reporting at once must not each hold a thread on a round trip.
            using var statements = new ReportStatements(await OpenConnectionAsync(cancellationToken), prepare: false);
            appended = await statements.WriteAsync(node, appliedRevision, report, driftCorrected, isOutcome, events ?? [], Time(DateTimeOffset.UtcNow), cancellationToken);
        }
        else
        {
            await _reportGate.WaitAsync(cancellationToken);
            try
            {
                _reportStatements ??= new ReportStatements(OpenConnection());
                appended = await _reportStatements.WriteAsync(node, appliedRevision, report, driftCorrected, isOutcome, events ?? [], Time(DateTimeOffset.UtcNow), cancellationToken);
            }
            catch
            {
                // A failed write (a full disk, a store gone read-only) leaves nothing half done; the next report starts afresh.
                _reportStatements?.Dispose();
                _reportStatements = null;
                throw;
            }
            finally
            {
                _reportGate.Release();
            }
        }
        if (appended.Count > 0)
        {
            EventsStored(appended);
        }
    }

    private void DisposeReportStatements()
    {
        _reportGate.Wait();
        try
        {
            _reportStatements?.Dispose();
            _reportStatements = null;
        }
        finally
        {
            _reportGate.Release();
        }
    }

    /// <summary>The report write's connection and its prepared statements.</summary>
    private sealed class ReportStatements : IDisposable
    {
        private readonly DbConnection _connection;
        private readonly DbCommand _update;
        private readonly DbCommand _insert;
        private readonly bool _prepare;

        public ReportStatements(DbConnection connection, bool prepare = true)
        {
            _connection = connection;
            _prepare = prepare;
            // A newly applied revision starts the drift count again.
            _update = Command("""
                UPDATE nodes SET
                    drift_corrected = CASE WHEN applied_revision <> @applied THEN 0 ELSE drift_corrected END + @drift,
                    applied_revision = @applied, last_report = @report, last_report_ms = @now, last_seen_ms = @now,
                    outcome_report = CASE WHEN @outcome THEN @report ELSE outcome_report END
                WHERE name = @node
                """, ("@node", DbType.String), ("@applied", DbType.Int64), ("@report", DbType.Binary), ("@now", DbType.Int64), ("@drift", DbType.Int64),
                ("@outcome", DbType.Boolean));
            _insert = Command(InsertEventSql, ("@at", DbType.Int64), ("@kind", DbType.String), ("@actor", DbType.String), ("@node", DbType.String),
                ("@revision", DbType.Int64), ("@summary", DbType.String), ("@details", DbType.String));
        }

        public async Task<List<EventRecord>> WriteAsync(string node, ulong appliedRevision, byte[] report, bool driftCorrected, bool isOutcome,
            IReadOnlyList<EventRecord> events, long now, CancellationToken cancellationToken)
        {
            await using var transaction = await _connection.BeginTransactionAsync(cancellationToken);
            _update.Transaction = transaction;
            _update.Parameters["@node"].Value = node;
            _update.Parameters["@applied"].Value = (long)appliedRevision;
            _update.Parameters["@report"].Value = report;
            _update.Parameters["@now"].Value = now;
            _update.Parameters["@drift"].Value = driftCorrected ? 1L : 0L;
            _update.Parameters["@outcome"].Value = isOutcome;
            await _update.ExecuteNonQueryAsync(cancellationToken);
            var appended = new List<EventRecord>(events.Count);
            _insert.Transaction = transaction;
            foreach (var record in events)
            {
                var stored = Stamped(record);
                BindEvent(_insert, stored);
                await _insert.ExecuteNonQueryAsync(cancellationToken);
                appended.Add(stored);
            }
            await transaction.CommitAsync(cancellationToken);
            return appended;
        }

        private DbCommand Command(string text, params (string Name, DbType Type)[] parameters)
        {
            var command = _connection.CreateCommand();
            command.CommandText = text;
            foreach (var (name, type) in parameters)
            {
                command.Add(name, type);
            }
            if (_prepare)
            {
                command.Prepare();
            }
            return command;
        }

        public void Dispose()
        {
            _update.Dispose();
            _insert.Dispose();
            _connection.Dispose();
        }
    }
}
