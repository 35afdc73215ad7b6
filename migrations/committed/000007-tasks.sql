--! Previous: sha1:3f7ffa491b0a68f6a282ab7036640bef293db9ae
--! Hash: sha1:4a71f76dad1e388fec227dd3cec0a91d9f8274b2
--! Message: tasks

-- The workshop kanban: tasks in three columns, ordered within each.

create table api.tasks (
  id           bigint generated always as identity primary key,
  agent_id     text default private.current_agent_id() references api.agents on delete set null,
  title        text not null check (length(title) between 1 and 500),
  description  text not null default '',
  status       text not null default 'backlog' check (status in ('backlog', 'in_progress', 'done')),
  kind         text not null default 'todo' check (kind ~ '^[a-z][a-z0-9_]{0,31}$'),
  position     numeric not null default 0,
  due_at       timestamptz,
  created_by   text not null default private.current_actor(),
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),
  completed_at timestamptz
);
comment on table api.tasks is 'Kanban tasks (backlog → in_progress → done). Order within a column by position; to move a card between two others, set position to the midpoint of theirs.';
comment on column api.tasks.id is 'Surrogate key.';
comment on column api.tasks.agent_id is 'Agent the task belongs to (defaults to the caller''s agent_id claim); null for tasks of the humans.';
comment on column api.tasks.title is 'One-line title.';
comment on column api.tasks.description is 'Details, markdown.';
comment on column api.tasks.status is 'Column: backlog, in_progress or done.';
comment on column api.tasks.kind is 'What kind of work: todo, pr_review, research, … (lower-case word).';
comment on column api.tasks.position is 'Order within the column, ascending; fractional so a move rewrites one row.';
comment on column api.tasks.due_at is 'Optional deadline.';
comment on column api.tasks.created_by is 'Role (or login) that created the task.';
comment on column api.tasks.created_at is 'When the task was created.';
comment on column api.tasks.updated_at is 'When the task last changed.';
comment on column api.tasks.completed_at is 'When it entered done (cleared if moved out again).';
create index tasks_status_position_idx on api.tasks (status, position);
create index tasks_agent_idx on api.tasks (agent_id);

create function private.tasks_before_write() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' and new.position = 0 then
    -- A new card goes to the bottom of its column.
    new.position := coalesce((select max(position) from api.tasks where status = new.status), 0) + 1;
  end if;
  if new.status = 'done' and (tg_op = 'INSERT' or old.status <> 'done') then
    new.completed_at := now();
  elsif new.status <> 'done' then
    new.completed_at := null;
  end if;
  if tg_op = 'UPDATE' then new.updated_at := now(); end if;
  return new;
end
$$;
comment on function private.tasks_before_write() is 'BEFORE INSERT/UPDATE trigger on tasks: appends new cards to their column, keeps completed_at and updated_at true.';
create trigger before_write before insert or update on api.tasks for each row execute function private.tasks_before_write();
create trigger register_agent before insert on api.tasks for each row execute function private.register_agent();
select private.expose('api.tasks', 'select, insert, update, delete', 'select, insert, update, delete');
select private.audit_table('api.tasks', 'id');
