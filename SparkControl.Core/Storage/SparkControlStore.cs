using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace SparkControl.Core.Storage;

/// <summary>
/// The one SQLite store (<c>sparkcontrol.db</c> in the data directory): connections, and the schema the capabilities'
/// migrations make (<see cref="StoreSchema"/>). When the file
/// cannot be opened for writing the store reports itself unavailable and the features that need it say so.
/// </summary>
public sealed class SparkControlStore : IDisposable
{
    public const string FileName = "sparkcontrol.db";

    private readonly StoreSchema _schema;
    private readonly string _connectionString;
    private readonly ILogger<SparkControlStore> _logger;
    private readonly StorageHealth _health;
    private readonly DataDirectory _dataDirectory;

    public SparkControlStore(DataDirectory dataDirectory, StoreSchema schema, StorageHealth health, ILogger<SparkControlStore> logger)
    {
        _schema = schema;
        _logger = logger;
        _health = health;
        _dataDirectory = dataDirectory;
        DatabasePath = dataDirectory.Resolve(FileName);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 10,
        }.ToString();
        UnavailableReason = Initialize();
    }

    public string DatabasePath { get; }

    public bool IsAvailable => UnavailableReason is null;

    /// <summary>Why the store cannot be used, in words an operator can act on; null when it can.</summary>
    public string? UnavailableReason { get; }

    public int SchemaVersion { get; private set; }

    /// <summary>
    /// Runs <paramref name="write"/> in a transaction. A write that fails (the volume went read-only, the disk is full)
    /// is reported to <see cref="StorageHealth"/> as <paramref name="what"/> and returns false: the caller goes on
    /// without it, and a later write that works clears the report.
    /// </summary>
    public bool TryWrite(string what, Action<SqliteConnection, SqliteTransaction> write)
    {
        if (UnavailableReason is not null)
        {
            return false;
        }

        try
        {
            using var connection = Open();
            using var transaction = connection.BeginTransaction();
            write(connection, transaction);
            transaction.Commit();
            _health.Succeeded(what);
            return true;
        }
        catch (Exception ex) when (ex is SqliteException or IOException or UnauthorizedAccessException)
        {
            _health.Failed(what, DatabasePath, Explain(ex));
            return false;
        }
    }

    /// <summary>
    /// Why a database call failed, as an operator would say it. A database in WAL mode that was closed cleanly has no
    /// <c>-shm</c> file, and SQLite cannot make one in a read-only directory: it says "cannot open", the cause is the
    /// directory.
    /// </summary>
    private string Explain(Exception ex) => ex switch
    {
        SqliteException { SqliteErrorCode: 14 } when !_dataDirectory.CanWrite(out var why) => $"the data directory cannot be written ({why})",
        SqliteException sqlite => Describe(sqlite),
        _ => DataDirectory.Describe(ex),
    };

    /// <summary>SQLite's own words for the usual causes, as an operator would say them.</summary>
    private static string Describe(SqliteException ex) => ex.SqliteErrorCode switch
    {
        8 => "the database is read-only (the file system or the file cannot be written)",
        13 => "the disk is full",
        10 => "disk I/O error (the volume failed or turned read-only)",
        14 => "the database file cannot be opened",
        _ => ex.Message.TrimEnd('.'),
    };

    /// <summary>Opens a connection; throws <see cref="StoreUnavailableException"/> when the store is unavailable.</summary>
    public SqliteConnection Open()
    {
        if (UnavailableReason is not null)
        {
            throw new StoreUnavailableException(UnavailableReason);
        }

        return OpenConnection();
    }

    /// <summary>Closes the pooled connections (the database file is let go when the panel stops).</summary>
    public void Dispose() => WithoutFlow(() =>
    {
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
        return 0;
    });

    private SqliteConnection OpenConnection() => WithoutFlow(() =>
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    });

    // Microsoft.Data.Sqlite makes its connection factory and each connection string's pool on first use, with timers
    // that live as long as the process, and a timer keeps the execution context it was made in. Made without one, they
    // do not keep what the caller's async-locals held: in a test, WebApplicationFactory's whole host, long after it was
    // disposed.
    private static T WithoutFlow<T>(Func<T> work)
    {
        if (ExecutionContext.IsFlowSuppressed())
        {
            return work();
        }

        using (ExecutionContext.SuppressFlow())
        {
            return work();
        }
    }

    private string? Initialize()
    {
        try
        {
            using var connection = OpenConnection();
            Execute(connection, "PRAGMA journal_mode=WAL;");
            Execute(connection, "PRAGMA synchronous=NORMAL;");
            SchemaVersion = _schema.Apply(connection);
            return null;
        }
        catch (Exception ex) when (ex is SqliteException or IOException or UnauthorizedAccessException)
        {
            var reason = $"The database {DatabasePath} cannot be opened for writing ({ex.Message.TrimEnd('.')}). " +
                         "History, timelines and the GPU ledger are off until the data directory is writable.";
            _logger.LogWarning("{Reason}", reason);
            _health.Failed("the database", DatabasePath, Explain(ex));
            return reason;
        }
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}

public sealed class StoreUnavailableException(string reason) : InvalidOperationException(reason);
