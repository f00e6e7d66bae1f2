using System.Globalization;
using Microsoft.Data.Sqlite;

namespace SparkControl.Core.Storage;

/// <summary>
/// One step of the database's schema, owned by the capability whose tables it makes (each keeps its steps beside its
/// store). A step is never edited after it ships: a change is a new version.
/// </summary>
public sealed record StoreMigration(int Version, string Owner, string Sql);

/// <summary>
/// The database's schema as the capabilities' steps put together: applied in version order (the steps of one version
/// together, in one transaction) and recorded in <c>PRAGMA user_version</c>.
/// </summary>
public sealed class StoreSchema
{
    private readonly IReadOnlyList<IGrouping<int, StoreMigration>> _versions;

    /// <exception cref="ArgumentException">The versions are not 1, 2, 3, ... without a gap.</exception>
    public StoreSchema(IEnumerable<StoreMigration> migrations)
    {
        _versions = [.. migrations.OrderBy(m => m.Version).ThenBy(m => m.Owner, StringComparer.Ordinal).GroupBy(m => m.Version)];
        for (var i = 0; i < _versions.Count; i++)
        {
            if (_versions[i].Key != i + 1)
            {
                throw new ArgumentException($"Schema versions must run 1, 2, 3, ... without a gap; version {i + 1} is missing (found {string.Join(", ", _versions.Select(v => v.Key))}).", nameof(migrations));
            }
        }
    }

    public int Latest => _versions.Count;

    /// <summary>Applies every version the database does not have yet; returns the version it has then.</summary>
    public int Apply(SqliteConnection connection)
    {
        var current = ReadVersion(connection);
        foreach (var version in _versions.Where(v => v.Key > current))
        {
            using var transaction = connection.BeginTransaction();
            foreach (var step in version)
            {
                using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = step.Sql;
                command.ExecuteNonQuery();
            }

            using (var setVersion = connection.CreateCommand())
            {
                setVersion.Transaction = transaction;
                // PRAGMA takes no parameters; the value is an integer we control.
                setVersion.CommandText = string.Create(CultureInfo.InvariantCulture, $"PRAGMA user_version = {version.Key};");
                setVersion.ExecuteNonQuery();
            }

            transaction.Commit();
        }

        return ReadVersion(connection);
    }

    private static int ReadVersion(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA user_version;";
        return Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }
}
