namespace Peft.Net.Models.ChatTemplates;

/// <summary>A statement node; <see cref="Line"/> is where it starts in the template.</summary>
internal abstract record Stmt(int Line);

internal sealed record TextStmt(string Text, int Line) : Stmt(Line);

internal sealed record PrintStmt(Expr Value, int Line) : Stmt(Line);

internal sealed record IfStmt(IReadOnlyList<(Expr Condition, IReadOnlyList<Stmt> Body)> Branches, IReadOnlyList<Stmt>? Else, int Line) : Stmt(Line);

internal sealed record ForStmt(IReadOnlyList<string> Targets, Expr Iterable, Expr? Filter, IReadOnlyList<Stmt> Body,
    IReadOnlyList<Stmt>? Else, int Line) : Stmt(Line);

/// <summary><c>{% set a = x %}</c>, <c>{% set a, b = x %}</c> or <c>{% set ns.attr = x %}</c> (then <see cref="Attribute"/> is set).</summary>
internal sealed record SetStmt(IReadOnlyList<string> Targets, string? Attribute, Expr Value, int Line) : Stmt(Line);

internal sealed record SetBlockStmt(string Target, IReadOnlyList<Stmt> Body, int Line) : Stmt(Line);

internal sealed record MacroStmt(string Name, IReadOnlyList<(string Name, Expr? Default)> Parameters, IReadOnlyList<Stmt> Body, int Line) : Stmt(Line);

internal sealed record BreakStmt(int Line) : Stmt(Line);

internal sealed record ContinueStmt(int Line) : Stmt(Line);

/// <summary>transformers' <c>{% generation %}…{% endgeneration %}</c>: renders its body and records the span as assistant output.</summary>
internal sealed record GenerationStmt(IReadOnlyList<Stmt> Body, int Line) : Stmt(Line);
