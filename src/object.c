/* mv_object: the header every exporter and view starts with.  Reference
 * and export counts are atomic so objects may be shared between threads
 * (unless the object is local); everything else about an object is its
 * type's business. */
#include "internal.h"

#include <stddef.h>

void mv_object_init(mv_object *obj, const mv_type *type)
{
    if (!obj)
        return;
    atomic_init(&obj->refcount, 1);
    atomic_init(&obj->exports, 0);
    obj->type = type;
    obj->flags = 0;
}

void mv_object_set_local(mv_object *obj)
{
    if (obj)
        obj->flags |= MV_OBJECT_LOCAL;
}

void mv_incref(void *obj)
{
    if (!obj)
        return;
    mv_object *o = obj;
    mv_count_add(&o->refcount, mv_is_local(o));
}

void mv_decref(void *obj)
{
    if (!obj)
        return;
    mv_object *o = obj;
    /* A count of 1 read with acquire is ours alone: no other thread holds a
     * reference to add one, so the locked decrement can be skipped.
     * Otherwise acq_rel: the thread that frees must see every write made
     * by the threads that dropped their references before it. */
    size_t old = atomic_load_explicit(&o->refcount, memory_order_acquire);
    if (old == 1)
        atomic_store_explicit(&o->refcount, 0, memory_order_relaxed);
    else
        old = mv_count_sub(&o->refcount, mv_is_local(o));
    if (old == 1 && o->type && o->type->destroy)
        o->type->destroy(o);
}

size_t mv_object_refcount(const void *obj)
{
    if (!obj)
        return 0;
    const mv_object *o = obj;
    return atomic_load_explicit(&((mv_object *)o)->refcount, memory_order_relaxed);
}

size_t mv_object_exports(const void *obj)
{
    if (!obj)
        return 0;
    const mv_object *o = obj;
    return atomic_load_explicit(&((mv_object *)o)->exports, memory_order_acquire);
}

const char *mv_object_type_name(const void *obj)
{
    if (!obj)
        return "NULL";
    const mv_object *o = obj;
    if (!o->type || !o->type->name)
        return "object";
    return o->type->name;
}
